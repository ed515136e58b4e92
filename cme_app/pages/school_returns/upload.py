"""/returns/upload: a school sends many deletion or new-pupil returns at once as a CSV file
exported from its MIS. Each row is checked as the form checks it; the page lists every row
with "Accepted" or why it was refused. A file that can't be read safely is refused whole
(services/school_returns/uploads.py) and nothing is stored.

The browser reads the file and sends its text over the event socket, as the DfE return's EHE
import does (Reflex's /_upload endpoint is closed at the edge: docs/deploy.md). So a file is
limited by the socket's event size (CME_SOCKET_MAX_EVENT_BYTES), checked here first."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import feedback, stacked_table
from ...components.layout import page
from ...errors import FieldError
from ...permissions import Capability
from ...services.school_returns import uploads
from ...services.school_returns.uploads import RowResult
from ...settings import get_settings
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load
from .deletion_form import GROUND_I_CONFIRMATION
from .parts import section

FILE = uploads.FIELD  # "returns_file": the file input's id, where file-level errors link
KINDS = {"deletions": "Deletions from your register", "new_pupils": "New pupils"}
# The event carrying the file must fit under the socket's limit, with room for the envelope.
LIMIT = get_settings().socket_max_event_bytes - 4096
LIMIT_KB = LIMIT // 1000
COLUMN_NOTES = {
    "school_urn": "Your school's URN, 6 digits",
    "upn": "Unique pupil number (can be empty)",
    "first_name": "", "last_name": "",
    "date_of_birth": "YYYY-MM-DD, like 2014-03-02",
    "sex": "F, M or U (not known)",
    "address_line1": "First line of the pupil's address",
    "postcode": "Can be empty",
    "parent_name": "A parent or carer the pupil lives with",
    "parent_phone": "Their emergency phone number",
    "deletion_date": "YYYY-MM-DD",
    "ground": "The ground's letter, A to O, as your MIS shows it",
    "destination_school_urn": "The new school's URN: needed for grounds A and D",
    "destination_la_code": "3 digits (can be empty)",
    "new_address": "Can be empty", "notes": "Can be empty",
    "start_date": "YYYY-MM-DD: the day the pupil joined the register",
}
# Reads the choices and the file in the browser; the handler gets one object.
READ_RETURNS_FILE = f"""(async () => {{
  const picked = document.querySelector('input[name="return_kind"]:checked');
  const kind = picked ? picked.value : '';
  const box = document.getElementById('ground_i_confirmed');
  const confirmed = !!(box && box.checked);
  const f = document.getElementById('{FILE}');
  const file = f && f.files && f.files[0];
  if (!file) {{ return {{kind, confirmed, text: '', problem: 'no_file'}}; }}
  if (file.size > {LIMIT}) {{ return {{kind, confirmed, text: '', problem: 'too_big'}}; }}
  const text = await file.text();
  const size = JSON.stringify(text).replace(/[^\\x00-\\x7f]/g, '      ').length;
  if (size > {LIMIT}) {{ return {{kind, confirmed, text: '', problem: 'too_big'}}; }}
  return {{kind, confirmed, text, problem: ''}};
}})()"""
PROBLEMS = {
    "no_file": "Choose the CSV file to upload",
    "too_big": f"The file is too big to upload here: send at most {LIMIT_KB} KB (about "
               f"{LIMIT // 200:,} rows) at a time. Split it into smaller files",
}


@dataclass(frozen=True)
class UploadRow:
    row: str
    pupil: str
    accepted: bool
    result: str


def _counted(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _show_results(state: UploadState, results: list[RowResult]):
    accepted = sum(r.accepted for r in results)
    state.results = [UploadRow(str(r.row), r.pupil or "–", r.accepted,
                               "Accepted" if r.accepted else r.message) for r in results]
    state.summary = (f"{_counted(accepted, 'row')} accepted, {len(results) - accepted} "
                     "refused" if results else "The file has no rows under its headings.")
    state.form_key += 1  # empty the file input: the same file is not sent twice by mistake
    return rx.call_script(focus_script("upload-results-title"))


class UploadState(PageFeedback, AuthState):
    kind: str = ""
    results: list[UploadRow] = []
    summary: str = ""

    message_id: ClassVar[str] = "upload-problem"

    def _reset_page(self) -> None:
        self.kind, self.results, self.summary = "", [], ""
        self._clear_feedback()
        self.form_key += 1

    @rx.event
    @page_load(Capability.SCHOOL_RETURNS)
    def load(self):
        return None

    @rx.event
    @handler(Capability.SCHOOL_RETURNS, quiet=True, refresh=False)
    def choose_kind(self, value: str):
        value = str(value or "")
        self.kind = value if value in KINDS else ""

    @rx.event
    @handler(Capability.SCHOOL_RETURNS, then=_show_results)
    def upload_file(self, upload: dict):
        sent = upload if isinstance(upload, dict) else {}
        kind, problem = str(sent.get("kind") or ""), str(sent.get("problem") or "")
        text = sent.get("text") if isinstance(sent.get("text"), str) else ""
        self.results, self.summary = [], ""
        errors = []
        if kind not in KINDS:
            errors.append(FieldError("return_kind", "Choose which returns the file holds"))
        if problem or not text:
            errors.append(FieldError(FILE, PROBLEMS.get(problem, PROBLEMS["no_file"])))
        if errors:
            return self._show_field_errors(errors)
        self.kind = kind
        if kind == "deletions":
            return partial(uploads.import_deletions, data=text[:LIMIT],
                           ground_i_confirmed=sent.get("confirmed") is True)
        return partial(uploads.import_new_pupils, data=text[:LIMIT])


S = UploadState
V = rx.Var.create({})  # nothing here is kept between uploads


def _columns(columns: tuple[str, ...]) -> rx.Component:
    return rx.el.div(
        rx.el.table(
            rx.el.caption("Columns, in this order, with these headings in the first row",
                          class_name="table__caption"),
            rx.el.thead(rx.el.tr(rx.el.th("Column", scope="col"),
                                 rx.el.th("What to put in it", scope="col"))),
            rx.el.tbody(*[rx.el.tr(rx.el.td(rx.el.code(c)), rx.el.td(COLUMN_NOTES.get(c, "")))
                          for c in columns]),
            class_name="table columns-table",
        ),
        class_name="table-wrap",
    )


def _file_input() -> rx.Component:
    return rx.el.div(
        rx.el.label("CSV file", html_for=FILE, class_name="label"),
        rx.el.p("Save it from Excel as 'CSV UTF-8 (comma delimited)'.", id=f"{FILE}-hint",
                class_name="hint"),
        rx.cond(S.errors.contains(FILE), rx.el.p(
            rx.el.span("Error: ", class_name="visually-hidden"), S.errors[FILE],
            class_name="error-message", id=f"{FILE}-error")),
        rx.el.input(id=FILE, name=FILE, type="file", accept=".csv,text/csv",
                    aria_describedby=f"{FILE}-hint {FILE}-error", class_name="file-input"),
        class_name=rx.cond(S.errors.contains(FILE), "form-group form-group--error",
                           "form-group"),
        key=S.form_key.to(str) + "file",
    )


def _kind() -> rx.Component:
    return rx.el.div(
        rx.el.fieldset(
            rx.el.legend("Which returns does the file hold?", class_name="legend legend--s"),
            rx.cond(S.errors.contains("return_kind"), rx.el.p(
                rx.el.span("Error: ", class_name="visually-hidden"), S.errors["return_kind"],
                class_name="error-message", id="return_kind-error")),
            rx.el.div(
                *[rx.el.div(
                    rx.el.input(type="radio", id=f"return_kind-{value}", name="return_kind",
                                value=value, on_change=S.choose_kind),
                    rx.el.label(text, html_for=f"return_kind-{value}"),
                    class_name="choice",
                ) for value, text in KINDS.items()],
                class_name="choices",
            ),
            class_name="fieldset",
            aria_describedby="return_kind-error",
        ),
        id="return_kind",
        tab_index=-1,
        class_name=rx.cond(S.errors.contains("return_kind"), "form-group form-group--error",
                           "form-group"),
    )


def _chosen() -> rx.Component:
    return rx.match(
        S.kind,
        ("deletions", rx.fragment(
            _columns(uploads.DELETION_COLUMNS),
            rx.el.div(
                forms.checkbox("ground_i_confirmed", "Every ground I row: " +
                               GROUND_I_CONFIRMATION[0].lower() + GROUND_I_CONFIRMATION[1:],
                               V, hint="Ground I rows are refused without this."),
                class_name="form-group",
            ),
        )),
        ("new_pupils", _columns(uploads.NEW_PUPIL_COLUMNS)),
        rx.fragment(),
    )


def _results() -> rx.Component:
    return rx.cond(
        S.summary != "",
        rx.el.section(
            rx.el.h2("What happened to each row", id="upload-results-title", tab_index=-1),
            rx.el.p(rx.el.strong(S.summary), id="upload-summary"),
            rx.el.p("Accepted rows are stored. Correct the refused rows and upload a file with "
                    "just those rows.", class_name="hint"),
            stacked_table(
                ["Row", "Pupil", "Result"], S.results,
                lambda r: [
                    r.row,
                    r.pupil,
                    rx.cond(r.accepted, rx.el.strong("Accepted", class_name="tag tag--green"),
                            rx.fragment(rx.el.strong("Refused", class_name="tag tag--red"), " ",
                                        r.result)),
                ],
                empty="",
            ),
            class_name="section",
            aria_labelledby="upload-results-title",
        ),
    )


@rx.page(route=routes.RETURN_UPLOAD, title="Upload returns – Children Missing Education",
         on_load=S.load)
def upload_page() -> rx.Component:
    return page(
        rx.el.p(rx.el.a("Back to your returns", href=routes.RETURNS, class_name="back-link")),
        feedback(S.error_list, S.problem, S.message, element_id=S.message_id,
                 problem_title="There is a problem"),
        rx.el.span("School returns", class_name="caption"),
        rx.el.h1("Upload returns as a CSV file"),
        rx.el.p("Send several deletions or new pupils at once from your MIS. Each row is "
                "checked on its own: the rows that pass are stored, and you see why any "
                "other row was refused.", class_name="lead"),
        rx.cond(
            S.user_role != "",
            section(
                "Your file",
                _kind(),
                _chosen(),
                _file_input(),
                rx.el.div(
                    rx.el.button("Upload and check the file", type="button", class_name="button",
                                 on_click=rx.call_script(READ_RETURNS_FILE,
                                                         callback=S.upload_file)),
                    class_name="button-group button-group--tight",
                ),
            ),
        ),
        _results(),
        narrow=True,
    )
