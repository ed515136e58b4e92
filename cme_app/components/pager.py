"""Previous / Next buttons around "Page 2 of 5 (230 events)" for a paged list."""

from __future__ import annotations

import reflex as rx


def pager(page: rx.Var, pages: rx.Var, total: rx.Var, go_to_page, *, noun: str, label: str):
    """`go_to_page` is the page state's handler taking the page number."""
    return rx.el.nav(
        rx.cond(
            page > 1,
            rx.el.button("Previous page", on_click=go_to_page(page - 1), type="button",
                         class_name="button button--secondary"),
        ),
        rx.el.p("Page ", page, " of ", pages, " (", total, f" {noun})",
                class_name="pager__status"),
        rx.cond(
            page < pages,
            rx.el.button("Next page", on_click=go_to_page(page + 1), type="button",
                         class_name="button button--secondary"),
        ),
        aria_label=label,
        class_name="pager",
    )
