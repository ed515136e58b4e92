"""The Reflex app: registers pages and the API; nothing else."""

import reflex as rx

from cme_app import models  # noqa: F401  (tables must be imported for the app and Alembic)

app = rx.App()


@rx.page(route="/login", title="Sign in – CME")
def login() -> rx.Component:
    return rx.el.main(rx.el.h1("Sign in"))
