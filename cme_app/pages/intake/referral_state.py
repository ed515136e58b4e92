"""/referrals/new: the state behind the referral form's task list, its section pages, Check
your answers and the confirmation (the pages are drawn in referral_form.py).

One route; `?section=` names the page (none: the task list; "check": Check your answers) and
`?draft=` the draft. Each page saves to the draft as the school types (assets/
referral_autosave.js) and on Save and continue; submitting runs the service's validation on
the whole draft, and its errors link to the page and field they are about.
"""

from __future__ import annotations

import re
import secrets
from functools import partial

import reflex as rx
from sqlalchemy.exc import SQLAlchemyError

from ... import routes
from ...dates import uk_today
from ...errors import FieldError
from ...permissions import Capability
from ...services.intake import drafts, referrals
from ...services.intake import referral_form as rf
from ...services.intake.referrals import Receipt
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load
from . import referral_answers as ra
from . import referral_drafts as rd
from . import referral_tasks as rt

GROUPS = ("address", "person")
NOT_SENT = (
    "Your referral may not have been sent. Press Submit referral again: it will not be sent "
    "twice."
)
DRAFT_NOT_SAVED = "Your answers were not saved. Try again."
DRAFT_SAVED = "Your draft has been saved. Only staff at your school can open it."
SUBMIT_BUTTON = "submit-referral"  # problems with sending link to the button that sends
_FIELD_ID = rd._FIELD_NAME
# The empty person box a new referral shows: a fixed id, so an error's link finds it again.
FIRST_PERSON = "p1"
# The answers that make a child open to social care (services/intake/referral_form.py).
CARE_QUESTIONS = ("known_to_csc", *rf.OPEN_TO_CSC_FLAGS)
_ROW_ID = re.compile(r"[a-z0-9]{1,16}")


def _new_row_id() -> str:
    return secrets.token_hex(4)


def _submitted(state: ReferralFormState, result: Receipt) -> rx.event.EventSpec:
    """The confirmation replaces Check your answers."""
    state._draft_id, state.draft_ref, state.values = "", "", {}
    state.submitted_reference, state.submitted_late = result.reference, result.late
    return rx.call_script("window.scrollTo(0, 0)")


def _saved(state: ReferralFormState, result) -> rx.event.EventSpec:
    """A page saved: on to the next page (back to Check your answers after a Change link, to
    the task list after Save draft)."""
    state._sending = ""
    form = {}
    if result is not None:
        state._draft_id = state.draft_ref = result.public_id
        form = dict(result.form_data or {})
    return rx.redirect(state._next_url(form))


def _save_after_timeout(state: ReferralFormState, form_data=None) -> rx.event.EventSpec:
    """Save pressed after the session timed out: keep the page's answers in the draft, then
    sign in again and come back to it."""
    sent = form_data if isinstance(form_data, dict) else {}
    kept = state._keep(rf.clean_form_data(rt.join_dates(sent)),
                       rd.public_id_or_empty(sent.get("draft_id")))
    return rd.sign_in_again(kept)


def _submit_after_timeout(state: ReferralFormState, form_data=None) -> rx.event.EventSpec:
    """Submit pressed after the session timed out: sign in again and come back to the draft."""
    sent = form_data if isinstance(form_data, dict) else {}
    return rd.sign_in_again(state._draft_id or rd.public_id_or_empty(sent.get("draft_id"))
                            or None)


class ReferralFormState(PageFeedback, AuthState):
    values: dict[str, str] = {}
    section: str = ""  # the page shown: "" task list, a section's key, "check"
    back_to_check: bool = False  # came from a Change link: Save goes back to Check answers
    statuses: dict[str, str] = {}
    answers: list[list[str]] = []
    completed: int = 0
    address_rows: list[str] = []
    person_rows: list[str] = []
    check_rows: list[list[str]] = []  # the checks done: [row id, check's words]
    check_row: list[str] = []  # the check whose page this is (`?check=`)
    reasons_needed: list[list[str]] = []  # checks not done that need a reason: [code, words]
    done_checks: list[str] = []
    category: str = ""
    # The child is open to social care (the lead's answers so far): ask who was told.
    open_to_care: bool = False
    _care: dict[str, str] = {}
    on_roll: str = ""  # the on-roll answer: which dates and grounds the page asks for
    intent: str = "continue"
    saved_at: str = ""
    submitted_reference: str = ""
    submitted_late: bool = False
    not_found: bool = False
    # A referral the CME team sent back: its reference and what the team asked for.
    resubmit_reference: str = ""
    team_request: str = ""
    # This form instance's id, sent with each submit so a retry never stores it twice.
    submission_id: str = ""
    # The draft being edited, also a hidden field (see `_keep`); the server checks whose it is.
    draft_ref: str = ""
    timed_out: bool = False  # back after a timeout: the draft was kept, say so
    # The form shows once a school user has opened it, and stays while they type even if the
    # session times out meanwhile (user_role empties at the next event; the text must not go).
    form_open: bool = False
    _draft_id: str = ""
    _sending: str = ""
    _tried: str = ""  # the draft a submit was tried on: its pages show the errors left
    _check: str = ""  # `?check=`: the row of the check whose page is asked for

    @rx.var
    def resubmitting(self) -> bool:
        return self.resubmit_reference != ""

    @rx.var
    def error_links(self) -> list[list[str]]:
        """Check your answers' error summary: [the page and field's address, message]."""
        return [
            [f"#{field}" if field == SUBMIT_BUTTON else routes.referral_page(
                self.draft_ref, rt.page_query(field), back_to_check=True, field=field), message]
            for field, message in self.error_list
        ]

    def _next_url(self, form: dict[str, str]) -> str:
        """Where Save goes: the task list (Save draft), back to Check your answers (from a
        Change link; ticking more checks first asks their details), else the next page."""
        if self.intent == "draft":
            return routes.referral_page(self._draft_id) + ("&saved=1" if self._draft_id else "")
        if self.back_to_check and self.section != "enquiries":
            return routes.referral_page(self._draft_id, rt.CHECK)
        row = self.check_row[0] if self.check_row else ""
        return routes.referral_page(self._draft_id, rt.next_page(form, self.section, row),
                                    back_to_check=self.back_to_check)

    def _show(self, form: dict[str, str]) -> None:
        """Draw the page for the draft's fields."""
        self.values = rt.with_date_parts(form)
        self.address_rows = rf.row_ids(form, "address")
        self.person_rows = rf.row_ids(form, "person") or [FIRST_PERSON]
        self.check_rows = rt.check_rows(form)
        self.check_row = next((r for r in self.check_rows if r[0] == self._check),
                              self.check_rows[0] if self.check_rows else [])
        self.reasons_needed = rt.reasons_needed(form)
        self.done_checks = rt.done_checks(form)
        self.category = form.get("category", "")
        self.on_roll = form.get("on_roll_status", "")
        self._care = {k: form.get(k, "") for k in CARE_QUESTIONS}
        self.open_to_care = rf.open_to_social_care(self._care)
        today = uk_today()
        if self.section in ("", rt.CHECK):
            self.statuses = rt.statuses(form, today=today)
            self.completed = sum(v == rt.COMPLETED for v in self.statuses.values())
            self.answers = ra.answers(form) if self.section == rt.CHECK else []
        if self._tried and self._tried == self._draft_id:
            page = self.section
            row = self.check_row[0] if self.check_row else ""
            errors = (rf.validate(form, today=today) if page == rt.CHECK
                      else [FieldError(f, m) for f, m in rt.errors_on_page(
                          form, page, today=today, row=row)])
            self._show_field_errors(errors, field_ids=self._first_person())
            if "add-person" in [e.field for e in errors]:  # the empty person box says it too
                self.errors = {**self.errors, "add-person": self.errors[
                    self._first_person()["add-person"]]}

    def _first_person(self) -> dict[str, str]:
        """"Add at least one parent or carer" links to the first person's first question."""
        return {"add-person": f"person-{self.person_rows[0]}-kind"}

    def _reset_form(self) -> None:
        self.values, self.errors, self.error_list = {}, {}, []
        self.statuses, self.answers, self.completed = {}, [], 0
        self.address_rows, self.person_rows, self.check_rows = [], [FIRST_PERSON], []
        self.check_row = []
        self.reasons_needed, self.done_checks = [], []
        self.category = self.on_roll = ""
        self.saved_at, self.submitted_reference, self.submitted_late = "", "", False
        self.not_found, self.intent, self.timed_out = False, "continue", False
        self.resubmit_reference = self.team_request = ""

    # ----- the adapter's hooks ----------------------------------------------------------------

    def _reset_page(self) -> None:
        self._draft_id = self.draft_ref = ""
        self.form_open = False
        self.submission_id = secrets.token_hex(16)  # one per opening of a page
        self._reset_form()

    def _clear_feedback(self) -> None:
        super()._clear_feedback()
        if self.saved_at:  # every assignment is sent to the browser, even if equal
            self.saved_at = ""

    def _show_problem(self, text: str):
        # Nothing was confirmed: say so in the error summary, linked to the button.
        sending, self._sending = self._sending, ""
        message = DRAFT_NOT_SAVED if sending == "save" else text
        return self._show_field_errors([FieldError(SUBMIT_BUTTON, message)])

    def _after_database_error(self, actor, exc: SQLAlchemyError):
        return self._show_problem(NOT_SENT)

    def _after_not_found(self, actor) -> None:
        self.not_found = True

    def _signed_out(self):
        """The form's small steps after the session timed out do nothing: going to the sign-in
        page now would leave what is typed behind. Save and Submit keep it first."""
        return None

    # ----- opening a page ---------------------------------------------------------------------

    def _open(self, session, *, actor, draft: str, timed_out: bool, field: str):
        self.form_open = actor.role == "school"
        if draft and (sent := drafts.sent_receipt(session, actor=actor, public_id=draft)):
            # Already sent: its confirmation again, not "Draft not found".
            self.submitted_reference, self.submitted_late = sent.reference, sent.late
            return None
        if draft:
            opened = drafts.open_with_request(session, actor=actor, public_id=draft)
            self._draft_id = self.draft_ref = draft
            self.resubmit_reference, self.team_request = opened.reference, opened.request
            form = opened.form
        else:
            form = {"referrer_email": actor.email}
        self._show(form)
        self.timed_out = timed_out
        # Back after signing in again: say what happened first (focus moves to the message).
        if timed_out:
            return rx.call_script(focus_script(rd.TIMED_OUT_ID))
        if field and _FIELD_ID.fullmatch(field):  # from an error's link: to its field
            field = self._first_person().get(field, field)
            # A date: its Day box, as GOV.UK's error links do; the group if it is not there.
            first = f"{field}-day" if rt.is_date(field) else field
            return rx.call_script(focus_script(first, field, "main-content"))
        return None

    def _keep(self, fields: dict[str, str], sent_draft: str) -> str | None:
        """What the form sent after its session timed out, kept in the school's draft (the
        session's own school, and only one that timed out: see drafts.keep_after_timeout)."""
        if not fields or self.submitted_reference:
            return None
        from ...db import session_scope

        with session_scope() as session:
            kept = drafts.keep_after_timeout(
                session, token=self._session_token(), fields=fields,
                public_id=self._draft_id or sent_draft or None, ip=self._client_ip(),
            )
        if kept:
            self._draft_id = kept
        return kept

    @rx.event
    @page_load(Capability.REFERRAL_WRITE)
    def load(self):
        query = self.router.url.query_parameters
        draft = str(query.get("draft", ""))[:32]
        section = str(query.get("section", ""))
        self.section = section if section in (*rt.PAGES, rt.CHECK) else ""
        self.back_to_check = query.get("from") == "check" and self.section in rt.PAGES
        check = str(query.get("check", ""))
        self._check = check if _ROW_ID.fullmatch(check) else ""
        if query.get("saved") == "1" and draft:
            self.saved_at = DRAFT_SAVED
        return partial(self._open, draft=draft, timed_out=query.get("timeout") == "1",
                       field=str(query.get("field", ""))[:60])

    # ----- small steps inside a page (quiet: they must not wipe the error summary) ------------

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def add_row(self, group: str):
        if group not in GROUPS:
            return
        rows = getattr(self, f"{group}_rows")
        if len(rows) < rf.MAX_ROWS:
            setattr(self, f"{group}_rows", [*rows, _new_row_id()])

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def remove_row(self, group: str, row_id: str):
        if group not in GROUPS or not isinstance(row_id, str):
            return None
        setattr(self, f"{group}_rows", [r for r in getattr(self, f"{group}_rows") if r != row_id])
        if not self._draft_id or not row_id:
            return None
        return partial(drafts.drop_row, public_id=self._draft_id, group=group,
                       row_id=row_id[:16])

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def set_category(self, value: str):
        self.category = value if value in rf.CATEGORY_CHOICES else ""

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def set_on_roll(self, value: str):
        self.on_roll = value if value in rf.ON_ROLL_CHOICES else ""

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def set_care(self, question: str, value: str):
        """An answer about social care: whether to ask who was told."""
        if question in CARE_QUESTIONS and isinstance(value, str):
            self._care = {**self._care, question: value[:20]}
            self.open_to_care = rf.open_to_social_care(self._care)

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def set_intent(self, intent: str):
        self.intent = "draft" if intent == "draft" else "continue"

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True, then=rd.autosaved, signed_out=rd.keep_quietly)
    def autosave(self, form_data: dict):
        """Fields as the school types (assets/referral_autosave.js): kept in the draft. The
        school's activity, so it keeps the session alive."""
        fields = rt.join_dates(rd.sent_fields(form_data, rd.max_event()))
        if not fields or self.submitted_reference or self.not_found:
            return None
        if not self._draft_id:  # this state was lost (a restart): the form knows its draft
            self._draft_id = rd.public_id_or_empty(form_data.get("draft_id"))
        return partial(drafts.autosave_quietly, fields=fields, public_id=self._draft_id or None)

    # ----- leaving a page ---------------------------------------------------------------------

    @rx.event
    @handler(Capability.REFERRAL_WRITE, then=_saved, signed_out=_save_after_timeout)
    def save_page(self, form_data: dict):
        """Save and continue (or Save draft): this page's answers into the draft, then on."""
        if self.section not in rt.PAGES or not isinstance(form_data, dict):
            return None
        if not self._draft_id:
            self._draft_id = rd.public_id_or_empty(form_data.get("draft_id"))
        if self.section == "enquiries":
            done = {k.code for k in rt.CHECKS if forms_ticked(form_data.get(f"done-{k.code}"))}
            changes = rt.apply_done_checks(self._form_now(), done)
        else:
            changes = rt.page_changes(self.section, form_data, {"person": self.person_rows})
        self._sending = "save"
        return partial(drafts.autosave, fields=changes, public_id=self._draft_id or None)

    @rx.event
    @handler(Capability.REFERRAL_WRITE, then=_saved, signed_out=rd.saved_after_timeout)
    def continue_saved(self):
        """Save and continue on a page too long for one event: its fields have been sent one
        by one (assets/referral_autosave.js), so the draft holds them; go on."""
        if not self._draft_id:
            return self._show_field_errors([FieldError(SUBMIT_BUTTON, rd.TOO_LONG)])
        return partial(drafts.autosave, fields={}, public_id=self._draft_id)

    @rx.event
    @handler(Capability.REFERRAL_WRITE, then=_submitted, signed_out=_submit_after_timeout)
    def submit_referral(self, form_data: dict):
        """Check your answers' Submit: the draft as the server holds it, through every rule.
        The page's hidden fields carry the draft and this opening's submission id, so a retry
        after the server lost this state is still recognised and never stored twice."""
        sent = form_data if isinstance(form_data, dict) else {}
        if not referrals.is_submission_id(self.submission_id):
            # State lost (a restarted server): the page's own id, if well formed, else a new one.
            valid = referrals.is_submission_id(sent.get("submission_id"))
            self.submission_id = sent["submission_id"] if valid else secrets.token_hex(16)
        if not self._draft_id:
            self._draft_id = rd.public_id_or_empty(sent.get("draft_id"))
        self._tried = self._draft_id or "new"
        if not self._draft_id:  # nothing answered yet: the service says what is missing
            return partial(referrals.submit_with_receipt, form={},
                           submission_id=self.submission_id)
        return partial(drafts.submit_draft, public_id=self._draft_id,
                       submission_id=self.submission_id)

    def _form_now(self) -> dict[str, str]:
        """The draft's fields as the page was drawn with them (no date boxes)."""
        return {k: v for k, v in self.values.items() if not rt.is_date_box(k)}


def forms_ticked(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("on", "true"))
