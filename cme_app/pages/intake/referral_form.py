"""/referrals/new: the school's CME referral form, with drafts."""

from __future__ import annotations

import secrets
from functools import partial

import reflex as rx
from sqlalchemy.exc import SQLAlchemyError

from ... import routes
from ...components import forms
from ...components.layout import page
from ...db import session_scope
from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRMATION, ground_words
from ...errors import FieldError
from ...permissions import Capability
from ...services.intake import drafts, referrals
from ...services.intake import referral_form as rf
from ...services.intake.referrals import Receipt
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load
from . import referral_drafts as rd

GROUPS = ("address", "person", "enquiry")
NOT_SENT = (
    "Your referral may not have been sent. Press Submit referral again: it will not be sent "
    "twice."
)
DRAFT_NOT_SAVED = "Your draft was not saved. Try again."
DRAFT_SAVED = "Your draft has been saved. Only staff at your school can open it."
SUBMIT_BUTTON = "submit-referral"  # problems with sending link to the button that sends


def _new_row_id() -> str:
    return secrets.token_hex(4)


def _sent(state: ReferralFormState, result) -> rx.event.EventSpec:
    """Saved as a draft: the address now names it. Submitted: the confirmation replaces the
    form. Either way the page goes back to its top."""
    state._sending = ""
    if isinstance(result, Receipt):
        state._draft_id, state.draft_ref, state.values = "", "", {}
        state.submitted_reference, state.submitted_late = result.reference, result.late
        return rx.call_script("window.scrollTo(0, 0)")
    state._draft_id = state.draft_ref = result.public_id
    state.saved_at = DRAFT_SAVED
    return rx.call_script(
        f"history.replaceState(null, '', '{routes.draft_url(result.public_id)}');"
        "window.scrollTo(0, 0)"
    )


class ReferralFormState(PageFeedback, AuthState):
    values: dict[str, str] = {}
    address_rows: list[str] = []
    person_rows: list[str] = []
    enquiry_rows: list[str] = []
    enquiry_kinds: dict[str, str] = {}
    category: str = ""
    on_roll: str = ""  # the on-roll answer: which dates and grounds the form asks for
    intent: str = "submit"
    saved_at: str = ""
    submitted_reference: str = ""
    submitted_late: bool = False
    not_found: bool = False
    # This form instance's id, sent with each submit so a retry never stores it twice. Also a
    # hidden field, so a retry still carries it if the server lost this state.
    submission_id: str = ""
    # The draft being edited, also a hidden field (see `_keep`); the server checks whose it is.
    draft_ref: str = ""
    timed_out: bool = False  # back after a timeout: the draft was kept, say so
    # The form shows once a school user has opened it, and stays while they type even if the
    # session times out meanwhile (user_role empties at the next event; the text must not go).
    form_open: bool = False
    _draft_id: str = ""
    _sending: str = ""  # "draft" or "submit" while the form is being sent

    @rx.var
    def missing_checks(self) -> list[list[str]]:
        """Minimum enquiries (BR-S4) with no logged row yet: [code, label]."""
        logged = set(self.enquiry_kinds.values())
        return [
            [k.code, k.label]
            for k in rf.ENQUIRY_KINDS
            if (k.required or (k.code == "other_la" and self.category == "moved_out_of_area"))
            and k.code not in logged
        ]

    def _reset_form(self, values: dict[str, str]) -> None:
        self.values = values
        self.errors, self.error_list = {}, []
        self.address_rows = rf.row_ids(values, "address")
        self.person_rows = rf.row_ids(values, "person") or [_new_row_id()]
        self.enquiry_rows = rf.row_ids(values, "enquiry") or [_new_row_id()]
        self.enquiry_kinds = {
            rid: values.get(f"enquiry-{rid}-kind", "") for rid in self.enquiry_rows
        }
        self.category = values.get("category", "")
        self.on_roll = values.get("on_roll_status", "")
        self.saved_at, self.submitted_reference, self.submitted_late = "", "", False
        self.not_found, self.intent, self.timed_out = False, "submit", False
        self.form_key += 1

    # ----- the adapter's hooks ----------------------------------------------------------------

    def _reset_page(self) -> None:
        self._draft_id = self.draft_ref = ""
        self.form_open = False
        self.submission_id = secrets.token_hex(16)
        self._reset_form({})

    def _clear_feedback(self) -> None:
        super()._clear_feedback()
        if self.saved_at:  # every assignment is sent to the browser, even if equal
            self.saved_at = ""

    def _show_problem(self, text: str):
        # Nothing was confirmed: say so in the error summary, linked to the Submit button.
        sending, self._sending = self._sending, ""
        message = DRAFT_NOT_SAVED if sending == "draft" else text
        return self._show_field_errors([FieldError(SUBMIT_BUTTON, message)])

    def _after_database_error(self, actor, exc: SQLAlchemyError):
        return self._show_problem(NOT_SENT)

    def _after_not_found(self, actor) -> None:
        self.not_found = True

    def _signed_out(self):
        """The form's small steps after the session timed out do nothing: going to the sign-in
        page now would leave what is typed behind. Submit and Save draft keep it first."""
        return None

    # ----- handlers ---------------------------------------------------------------------------
    # The form's small steps (a row added, a choice made) are quiet: they must not wipe the
    # error summary the school is working through.

    def _open(self, session, *, actor, draft: str, timed_out: bool):
        self.form_open = actor.role == "school"
        if not draft:
            self._reset_form({"referrer_email": actor.email})
            return
        self._reset_form(referrals.open_draft(session, actor=actor, public_id=draft))
        self._draft_id = self.draft_ref = draft
        self.timed_out = timed_out
        # Back after signing in again: say what happened first (focus moves to the message).
        return rx.call_script(focus_script(rd.TIMED_OUT_ID)) if timed_out else None

    def _keep(self, fields: dict[str, str], sent_draft: str) -> str | None:
        """What the form sent after its session timed out, kept in the school's draft (the
        session's own school, and only one that timed out: see drafts.keep_after_timeout)."""
        if not fields or self.submitted_reference:
            return None
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
        return partial(self._open, draft=draft, timed_out=query.get("timeout") == "1")

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
        if group == "enquiry":
            self.enquiry_kinds = {k: v for k, v in self.enquiry_kinds.items() if k != row_id}
        if not self._draft_id or not row_id:
            return None
        return partial(drafts.drop_row, public_id=self._draft_id, group=group,
                       row_id=row_id[:16])

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True)
    def set_enquiry_kind(self, row_id: str, kind: str):
        if row_id in self.enquiry_rows and (kind == "" or kind in rf.ENQUIRY_LABELS):
            self.enquiry_kinds = {**self.enquiry_kinds, row_id: kind}

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
    def set_intent(self, intent: str):
        self.intent = "draft" if intent == "draft" else "submit"

    @rx.event
    @handler(Capability.REFERRAL_WRITE, quiet=True, then=rd.autosaved, signed_out=rd.keep_quietly)
    def autosave(self, form_data: dict):
        """One field, as the school types (assets/referral_autosave.js): kept in the draft.
        The school's activity, so it keeps the session alive."""
        fields = rd.sent_fields(form_data, rd.max_event())
        if not fields or self.submitted_reference or self.not_found:
            return None
        if not self._draft_id:  # this state was lost (a restart): the form knows its draft
            self._draft_id = rd.public_id_or_empty(form_data.get("draft_id"))
        return partial(drafts.autosave_quietly, fields=fields, public_id=self._draft_id or None)

    @rx.event
    @handler(Capability.REFERRAL_WRITE, then=_sent, signed_out=rd.saved_after_timeout)
    def submit_saved(self):
        """Submit (or save) a referral too long for one event: its fields have been sent one
        by one (assets/referral_autosave.js), so the draft holds all of it."""
        self._sending, self.intent = self.intent, "submit"
        if not self._draft_id:
            self._sending = ""
            return self._show_field_errors([FieldError(SUBMIT_BUTTON, rd.TOO_LONG)])
        if self._sending == "draft":
            return partial(drafts.autosave, fields={}, public_id=self._draft_id)
        if not referrals.is_submission_id(self.submission_id):
            self.submission_id = secrets.token_hex(16)
        return partial(drafts.submit_draft, public_id=self._draft_id,
                       submission_id=self.submission_id)

    @rx.event
    @handler(Capability.REFERRAL_WRITE, then=_sent, signed_out=rd.submit_after_timeout)
    def submit_form(self, form_data: dict):
        """Save a draft or submit, as the button pressed said (`set_intent` runs first)."""
        sent = form_data.get("submission_id") if isinstance(form_data, dict) else None
        if not referrals.is_submission_id(self.submission_id):
            # State lost (a restarted server): the form's own id, if well formed, else a new one.
            valid = referrals.is_submission_id(sent)
            self.submission_id = sent if valid else secrets.token_hex(16)
        data = rf.clean_form_data(form_data)
        self.values = data
        self._sending, self.intent = self.intent, "submit"
        if not self._draft_id:
            self._draft_id = rd.public_id_or_empty(form_data.get("draft_id"))
        public_id = self._draft_id or None
        if self._sending == "draft":
            return partial(referrals.save_draft, form=data, public_id=public_id)
        return partial(referrals.submit_with_receipt, form=data, public_id=public_id,
                       submission_id=self.submission_id)


S = ReferralFormState


def _section(title: str, *children: rx.Component, hint: str = "") -> rx.Component:
    return rx.el.section(
        rx.el.h2(title),
        rx.el.p(hint, class_name="hint") if hint else rx.fragment(),
        *children,
        class_name="section",
    )


def _referrer() -> rx.Component:
    return _section(
        "About you",
        forms.text_field("referrer_name", "Your name", S.values, S.errors, width="input--w20",
                         autocomplete="name"),
        forms.text_field("referrer_job_title", "Job title", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("referrer_phone", "Phone number", S.values, S.errors, input_type="tel",
                         width="input--w20", autocomplete="tel"),
        forms.text_field("referrer_email", "Email address", S.values, S.errors,
                         input_type="email", width="input--w20", autocomplete="email"),
    )


def _child() -> rx.Component:
    return _section(
        "The child",
        rx.el.div(
            forms.text_field("first_name", "First name", S.values, S.errors),
            forms.text_field("last_name", "Last name", S.values, S.errors),
            class_name="grid-2",
        ),
        forms.text_field("middle_names", "Middle names (optional)", S.values, S.errors),
        forms.text_field("known_as", "Other names used (optional)", S.values, S.errors,
                         hint="Aliases, previous surnames and other spellings"),
        forms.date_field("date_of_birth", "Date of birth", S.values, S.errors),
        rx.cond(
            S.errors.contains("date_of_birth") | (S.values["dob_confirmed"].to(str) == "on"),
            forms.checkbox("dob_confirmed", "The date of birth is correct", S.values,
                           hint="Tick this to refer a child outside compulsory school age."),
        ),
        forms.radios("sex", "Sex", rf.SEX_CHOICES, S.values, S.errors),
        forms.text_field("upn", "UPN", S.values, S.errors, width="input--w10",
                         hint="Unique pupil number: 13 characters, like A383200012401. "
                         "Needed if the child is or was on your roll."),
        forms.text_field("first_language", "First language (optional)", S.values, S.errors,
                         width="input--w20"),
        forms.checkbox("interpreter_needed", "An interpreter is needed to speak with the family",
                       S.values),
        forms.checkbox("traveller_family", "Gypsy, Roma or Traveller family", S.values),
        rx.el.div(class_name="form-group"),
        forms.select_field("sen_status", "Special educational needs", rf.SEN_CHOICES, S.values,
                           S.errors),
    )


def _address_row(rid: rx.Var, index: rx.Var) -> rx.Component:
    p = "address-" + rid
    return rx.el.fieldset(
        rx.el.legend("Other address ", (index + 1).to(str), class_name="legend legend--s"),
        forms.select_field(p + "-kind", "Type of address", rf.ADDRESS_KIND_CHOICES, S.values,
                           S.errors),
        forms.text_field(p + "-line1", "Address", S.values, S.errors),
        rx.el.div(
            forms.text_field(p + "-town", "Town or city", S.values, S.errors),
            forms.text_field(p + "-postcode", "Postcode or zip code", S.values, S.errors),
            class_name="grid-2",
        ),
        forms.text_field(p + "-country", "Country", S.values, S.errors, width="input--w20",
                         hint="Leave blank for the United Kingdom"),
        forms.select_field(p + "-source", "Where this address came from",
                           rf.ADDRESS_SOURCE_CHOICES, S.values, S.errors),
        rx.el.button("Remove this address", type="button", class_name="button button--secondary",
                     on_click=S.remove_row("address", rid)),
        key=rid,
        class_name="row-card fieldset",
    )


def _addresses() -> rx.Component:
    return _section(
        "Addresses",
        forms.text_field("home_line1", "Home address", S.values, S.errors,
                         hint="The child's last known address: building and street"),
        forms.text_field("home_line2", "Address line 2 (optional)", S.values, S.errors),
        rx.el.div(
            forms.text_field("home_town", "Town or city", S.values, S.errors),
            forms.text_field("home_postcode", "Postcode", S.values, S.errors, width="input--w10"),
            class_name="grid-2",
        ),
        rx.foreach(S.address_rows, _address_row),
        rx.el.button("Add another address", type="button", class_name="button button--secondary",
                     on_click=S.add_row("address")),
        hint="Add previous addresses from the last 2 years, and any new address the family may "
        "have moved to.",
    )


def _person_row(rid: rx.Var, index: rx.Var) -> rx.Component:
    p = "person-" + rid
    return rx.el.fieldset(
        rx.el.legend("Person ", (index + 1).to(str), class_name="legend legend--s"),
        forms.select_field(p + "-kind", "Who is this?", rf.PERSON_KIND_CHOICES, S.values,
                           S.errors),
        rx.el.div(
            forms.text_field(p + "-full_name", "Full name", S.values, S.errors),
            forms.text_field(p + "-relationship", "Relationship to the child", S.values,
                             S.errors, hint="For example mother, stepfather, brother, aunt"),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.text_field(p + "-phone", "Phone number", S.values, S.errors,
                             input_type="tel"),
            forms.text_field(p + "-email", "Email address (optional)", S.values, S.errors,
                             input_type="email"),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.date_field(p + "-date_of_birth", "Date of birth (optional)", S.values,
                             S.errors),
            forms.text_field(p + "-school_name", "Their school, for siblings (optional)",
                             S.values, S.errors),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.checkbox(p + "-lives_with_child", "The child lives with this person",
                           S.values),
            forms.checkbox(p + "-parental_responsibility", "Has parental responsibility",
                           S.values),
            forms.checkbox(p + "-emergency_contact", "Is an emergency contact", S.values),
            class_name="choices form-group",
        ),
        rx.cond(
            S.person_rows.length() > 1,
            rx.el.button("Remove this person", type="button",
                         class_name="button button--secondary",
                         on_click=S.remove_row("person", rid)),
        ),
        key=rid,
        class_name="row-card fieldset",
    )


def _people() -> rx.Component:
    return _section(
        "Parents, carers and household",
        forms._error(S.errors, "add-person"),
        rx.foreach(S.person_rows, _person_row),
        rx.el.button("Add another person", type="button", id="add-person",
                     class_name="button button--secondary", on_click=S.add_row("person")),
        hint="Include every parent or carer, other people in the household such as siblings, "
        "and friends or relatives who may know where the child is.",
    )


def _deleted() -> rx.Component:
    """Already removed from the roll: when and under which ground."""
    return rx.el.div(
        forms.date_field("roll_deleted_on", "Date removed from your roll", S.values, S.errors),
        forms.select_field("roll_deletion_ground", "Ground you removed the child under",
                           {g: ground_words(g) for g in DELETION_GROUNDS}, S.values, S.errors),
        class_name="grid-2",
    )


def _first_date() -> rx.Component:
    """A child who never started: the day they were expected instead of the last day seen."""
    return rx.cond(
        (S.on_roll == "never_started") | (S.category == "failed_to_start"),
        forms.date_field("expected_start_date", "Date the child was expected to start",
                         S.values, S.errors),
        forms.date_field("date_last_attended", "Date last attended", S.values, S.errors),
    )


def _absence() -> rx.Component:
    return _section(
        "The absence",
        forms.radios("on_roll_status", "Is the child on your school roll?", rf.ON_ROLL_CHOICES,
                     S.values, S.errors, inline=False, on_change=S.set_on_roll),
        rx.cond(S.on_roll == "deleted", _deleted()),
        forms.select_field("category", "Why are you referring the child?",
                           rf.CATEGORY_CHOICES, S.values, S.errors, on_change=S.set_category),
        rx.cond(
            S.category == "not_returned_after_leave",
            forms.date_field("leave_ends_on", "Date the agreed leave ended (optional)", S.values,
                             S.errors, hint="Only if the school agreed a leave of absence"),
        ),
        rx.el.div(
            _first_date(),
            forms.date_field("date_school_aware", "Date school became aware", S.values,
                             S.errors, hint="When the school knew the child was missing. "
                             "Refer within 4 weeks of this date."),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.text_field("absence_days", "Days of unauthorised absence so far (optional)",
                             S.values, S.errors, width="input--w10", input_type="text"),
            forms.text_field("absence_codes", "Attendance codes used (optional)", S.values,
                             S.errors, width="input--w10", hint="For example G, N or O"),
            class_name="grid-2",
        ),
        forms.radios("absence_codes_confirmed", GROUND_I_CONFIRMATION, rf.YES_NO, S.values,
                     S.errors, hint="Needed if you intend to use, or used, ground I (20 school "
                     "days' continuous absence)"),
        forms.checkbox("history_of_non_attendance",
                       "The child has a history of poor attendance or term-time leave",
                       S.values),
        rx.el.div(class_name="form-group"),
        forms.textarea_field("believed_destination",
                             "Where do you think the child may be? (optional)", S.values,
                             S.errors, hint="A new address, area, country or school, and how "
                             "you know"),
        forms.select_field("proposed_deletion_ground",
                           "Deletion ground you intend to use (optional)",
                           {g: ground_words(g) for g in DELETION_GROUNDS}, S.values, S.errors),
    )


def _enquiry_row(rid: rx.Var, index: rx.Var) -> rx.Component:
    p = "enquiry-" + rid
    return rx.el.fieldset(
        rx.el.legend("Enquiry ", (index + 1).to(str), class_name="legend legend--s"),
        forms.select_field(p + "-kind", "Type of enquiry", rf.ENQUIRY_LABELS, S.values, S.errors,
                           on_change=lambda v: S.set_enquiry_kind(rid, v)),
        rx.el.div(
            forms.date_field(p + "-made_on", "Date of enquiry", S.values, S.errors),
            forms.select_field(p + "-time_of_day", "Time of day (optional)",
                               rf.TIME_OF_DAY_CHOICES, S.values, S.errors),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.text_field(p + "-contacted", "Who was contacted", S.values, S.errors,
                             hint="Name and relationship, or the place visited"),
            forms.select_field(p + "-method", "How", rf.METHOD_CHOICES, S.values, S.errors),
            class_name="grid-2",
        ),
        forms.textarea_field(p + "-result", "Result", S.values, S.errors, rows=2),
        rx.cond(
            S.enquiry_rows.length() > 1,
            rx.el.button("Remove this enquiry", type="button",
                         class_name="button button--secondary",
                         on_click=S.remove_row("enquiry", rid)),
        ),
        key=rid,
        class_name="row-card fieldset",
    )


def _missing_check(check: rx.Var) -> rx.Component:
    return forms.textarea_field(
        "reason-" + check[0], "Why this was not possible: " + check[1], S.values, S.errors,
        rows=2,
    )


def _enquiries() -> rx.Component:
    return _section(
        "Enquiries already made",
        rx.el.details(
            rx.el.summary("Which enquiries we expect before a referral"),
            rx.el.ul(*[rx.el.li(k.label) for k in rf.ENQUIRY_KINDS if k.required],
                     rx.el.li("The other local authority, if you were given a new address "
                              "outside Leeds")),
            class_name="form-group",
        ),
        rx.foreach(S.enquiry_rows, _enquiry_row),
        rx.el.button("Add another enquiry", type="button", class_name="button button--secondary",
                     on_click=S.add_row("enquiry")),
        rx.cond(
            S.missing_checks.length() > 0,
            rx.el.div(
                rx.el.h3("Checks not recorded yet"),
                rx.el.p("Add an enquiry above for each of these, or say why it was not possible.",
                        class_name="hint"),
                rx.foreach(S.missing_checks, _missing_check),
                class_name="row-card",
            ),
        ),
        hint="Record each check: the date, who you contacted, how, and what happened.",
    )


def _concerns() -> rx.Component:
    return _section(
        "Specific concerns",
        rx.el.div(
            rx.el.fieldset(
                rx.el.legend("Select all that apply", class_name="legend legend--s"),
                forms._error(S.errors, "concern-safeguarding"),
                rx.el.div(
                    *[forms.checkbox(f"concern-{code}", label, S.values)
                      for code, label in rf.CONCERNS.items()],
                    rx.el.p("or", class_name="hint"),
                    forms.checkbox(f"concern-{rf.NONE_KNOWN}", "None known", S.values),
                    class_name="choices",
                ),
                class_name="fieldset",
            ),
            class_name=rx.cond(S.errors.contains("concern-safeguarding"),
                               "form-group form-group--error", "form-group"),
        ),
        forms.textarea_field("concerns_narrative", "Describe the concerns", S.values, S.errors,
                             hint="Say what you know and how you know it."),
    )


def _social_worker() -> rx.Component:
    """For a child already open to social care: who was told, and when."""
    return rx.el.div(
        rx.el.h3("If the child is open to social care now"),
        rx.el.div(
            forms.radios("social_worker_told", "Have you told the child's social worker?",
                         rf.YES_NO, S.values, S.errors),
            forms.date_field("social_worker_told_on", "Date you told the social worker",
                             S.values, S.errors),
            class_name="grid-2",
        ),
        rx.el.div(
            forms.radios("virtual_school_told", "For a child in care: have you told the virtual "
                         "school?", rf.YES_NO, S.values, S.errors),
            forms.date_field("virtual_school_told_on", "Date you told the virtual school",
                             S.values, S.errors),
            class_name="grid-2",
        ),
        class_name="row-card",
    )


def _dsl() -> rx.Component:
    return _section(
        "Designated safeguarding lead's appraisal",
        forms.text_field("dsl_name", "Name of the designated safeguarding lead", S.values,
                         S.errors, width="input--w20"),
        forms.radios("known_to_csc", "Is the child known to children's social care?",
                     rf.CSC_CHOICES, S.values, S.errors, inline=False,
                     hint="Open to social care now means a child in need, child protection or "
                     "looked after (in care) case"),
        forms.radios("cp_plan", "Does the child have a child protection plan?", rf.YNU_CHOICES,
                     S.values, S.errors),
        forms.radios("child_in_need", "Is the child a child in need?", rf.YNU_CHOICES, S.values,
                     S.errors),
        forms.radios("looked_after", "Is the child looked after (in care)?", rf.YNU_CHOICES,
                     S.values, S.errors),
        forms.radios("significant_harm", "Do you suspect the child is at risk of significant "
                     "harm?", rf.YNU_CHOICES, S.values, S.errors),
        _social_worker(),
        rx.el.div(
            forms.date_field("mash_referred_on", "Date referred to the Front Door (MASH)",
                             S.values, S.errors, hint="For a new concern: if you have referred "
                             "the child"),
            forms.text_field("mash_reference", "Front Door reference (optional)", S.values,
                             S.errors),
            class_name="grid-2",
        ),
        forms.textarea_field("dsl_appraisal", "Appraisal of the risk to the child", S.values,
                             S.errors),
        hint="If the child is open to social care, tell their social worker now (and the virtual "
        "school for a child in care). If you fear for a child's safety and they are not open to "
        "social care, contact the Front Door now. This referral does not replace either.",
    )


def _form() -> rx.Component:
    return rx.el.form(
        rx.el.input(type="hidden", name="submission_id", value=S.submission_id),
        rx.el.input(type="hidden", name="draft_id", value=S.draft_ref),
        _referrer(),
        _child(),
        _addresses(),
        _people(),
        _absence(),
        _enquiries(),
        _concerns(),
        _dsl(),
        rx.el.div(
            rx.el.button("Submit referral", type="submit", class_name="button",
                         id=SUBMIT_BUTTON, on_click=S.set_intent("submit")),
            rx.el.button("Save draft", type="submit", class_name="button button--secondary",
                         on_click=S.set_intent("draft")),
            class_name="button-group",
        ),
        key=S.form_key.to(str),
        on_submit=S.submit_form,
        reset_on_submit=False,
        no_validate=True,
        id="referral-form",
        # assets/referral_autosave.js: what one event may carry, and the forms it uses.
        custom_attrs={"data-max-event-bytes": str(rd.max_event())},
    )


def _confirmation() -> rx.Component:
    return rx.fragment(
        rx.el.div(
            rx.el.h1("Referral submitted"),
            rx.el.div("Your reference is", rx.el.strong(S.submitted_reference),
                      class_name="panel__body"),
            class_name="panel",
        ),
        rx.cond(
            S.submitted_late,
            rx.el.div(
                rx.el.h2("Submitted after 4 weeks", class_name="notification__title"),
                rx.el.div(
                    "This referral was sent more than 4 weeks after the school became aware the "
                    "child was missing, so it is marked late.",
                    class_name="notification__body",
                ),
                class_name="notification",
                role="region",
                aria_label="Late referral",
            ),
        ),
        rx.el.h2("What happens next"),
        rx.el.p("The Children Missing Education team will check the referral and decide how "
                "urgent it is. You can follow its status in your list of referrals."),
        rx.el.p("If you become worried about the child's safety, contact the Front Door at once."),
        rx.el.a("View your referrals", href=routes.REFERRALS, class_name="button"),
    )


@rx.page(route=routes.REFERRAL_NEW, title="New referral – Children Missing Education",
         on_load=S.load)
def referral_form_page() -> rx.Component:
    return page(
        rx.cond(
            S.submitted_reference != "",
            _confirmation(),
            rx.cond(
                S.not_found,
                rx.fragment(rx.el.h1("Draft not found"),
                            rx.el.p(rx.el.a("Back to your referrals", href=routes.REFERRALS))),
                rx.fragment(
                    forms.error_summary(S.error_list),
                    rd.timed_out_notice(S),
                    rx.cond(
                        S.saved_at != "",
                        rx.el.div(
                            rx.el.h2("Draft saved", class_name="notification__title"),
                            rx.el.div(S.saved_at, class_name="notification__body"),
                            class_name="notification notification--success",
                            role="status",
                        ),
                    ),
                    rx.el.span("Children missing education", class_name="caption"),
                    rx.el.h1("Refer a child missing education"),
                    rx.el.p("Tell the local authority about a child of compulsory school age "
                            "whose whereabouts you do not know, after your own enquiries. "
                            "You can save a draft and come back to it.", class_name="lead"),
                    rx.cond(S.form_open, rx.fragment(_form(), rd.hidden_parts(S))),
                ),
            ),
        ),
    )
