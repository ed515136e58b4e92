"""The case's notices and letters: each version made, with its author and a download link,
and the form that makes a new one (services/documents)."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from .parts import V, form
from .state import CaseState as S

_DATE_HINT = ("Only some documents use it. The s.437(1) notice: the date the parent must "
              "respond by, at least 15 days from today. The exhausted-enquiries notice: the "
              "off-roll date agreed with the school. The calling card: the date of the call. "
              "Letters: the date to reply by.")


def _download(r: rx.Var) -> rx.Component:
    return rx.el.a(
        "Download", rx.el.span(" ", r.title, " version ", r.version.to(str), " (PDF)",
                               class_name="visually-hidden"),
        href=r.url, download=True, class_name="link",
        # A file from the server, not a page: the router must let the browser fetch it.
        custom_attrs={"reloadDocument": True},
    )


def _create(d: rx.Var) -> rx.Component:
    return content.disclosure(
        "Create a document",
        form(
            forms.select_field("doc-kind", "Document", d.kind_choices, V, S.errors),
            forms.date_field("doc-on", "Date, if the document needs one", V, S.errors,
                             hint=_DATE_HINT),
            on_submit=S.create_document, button="Create the document", key="documents-create",
        ),
    )


def documents(c: rx.Var) -> rx.Component:
    d = c.documents
    return content.section(
        "documents", "Documents",
        content.stacked_table(
            ["Document", "Version", "Date", "Author", "For", "File"], d.rows,
            lambda r: [r.title, r.version.to(str), r.created_on, r.author, r.recipient,
                       _download(r)],
            empty="No notices or letters have been made on this case yet.",
        ),
        rx.cond(d.can_create, _create(d)),
    )
