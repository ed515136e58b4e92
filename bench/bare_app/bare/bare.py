"""One static page with a heading and a paragraph, and nothing else."""

import reflex as rx


def index() -> rx.Component:
    return rx.container(
        rx.heading("Hello", size="7"),
        rx.text("A bare Reflex page: the baseline for Lighthouse."),
    )


app = rx.App()
app.add_page(index, title="Bare")
