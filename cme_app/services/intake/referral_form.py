"""The school's CME referral form: its fields, parsing and every validation rule.

The browser sends a flat mapping of field names to strings (the names are also the HTML ids,
so each error can link to its field). Repeating groups use `<group>-<row id>-<field>` names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.gb import upn as upn_check

from ...dates import compulsory_school_age
from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRM_FIRST
from ...errors import FieldError
from ...numbers import digits

MAX_VALUE_LENGTH = 4000
MAX_ROWS = 30

SEX_CHOICES = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not known"}
YNU_CHOICES = {"yes": "Yes", "no": "No", "unknown": "Not known"}
YES_NO = {"yes": "Yes", "no": "No"}
# Social care: only current involvement makes the child Red (risk.py); past involvement is
# worth knowing, no more.
CSC_CHOICES = {
    "current": "Yes, open to social care now",
    "past": "Yes, in the past only",
    "no": "No",
    "unknown": "Not known",
}
SEN_CHOICES = {
    "none": "No special educational needs",
    "sen_support": "SEN support",
    "ehcp": "Education, health and care plan (EHCP)",
    "unknown": "Not known",
}
ON_ROLL_CHOICES = {
    "on_roll": "Still on our roll",
    "deleted": "Already removed from our roll",
    "never_started": "Never started at our school",
}
CATEGORY_CHOICES = {
    "whereabouts_unknown": "Absent and whereabouts unknown",
    "left_no_destination": "Left with no or incomplete destination",
    "failed_to_start": "Failed to start an allocated place",
    "not_returned_after_leave": "Not returned after leave or a holiday",
    "moved_out_of_area": "Believed moved out of the area",
    "moved_abroad": "Believed moved abroad",
    "new_arrival": "New arrival, not on a school roll",
    "other": "Other",
}
ADDRESS_KIND_CHOICES = {
    "previous": "Previous address",
    "believed_new": "Believed new address",
    "abroad": "Address abroad",
    "temporary": "Temporary (hostel, refuge, B&B, relatives)",
}
ADDRESS_SOURCE_CHOICES = {
    "school": "School records",
    "parent": "Parent or carer",
    "neighbour": "Neighbour",
    "other_agency": "Another agency",
    "other": "Other",
}
PERSON_KIND_CHOICES = {
    "parent_carer": "Parent or carer",
    "household": "Other household member (for example a sibling)",
    "friend": "Friend or relative",
    "contact": "Other contact",
}
METHOD_CHOICES = {
    "phone": "Phone",
    "email": "Email",
    "letter": "Letter",
    "visit": "Visit",
    "in_person": "In person",
    "social_media": "Social media",
    "system": "System check",
}
TIME_OF_DAY_CHOICES = {"AM": "Morning (AM)", "PM": "Afternoon (PM)"}

# Leeds list of specific concerns (BR-L1); labels are the checkbox names.
CONCERNS: dict[str, str] = {
    "safeguarding": "Safeguarding",
    "domestic_abuse": "Domestic abuse",
    "forced_marriage": "Forced marriage",
    "cse": "Child sexual exploitation (CSE)",
    "cce": "Child criminal exploitation (CCE)",
    "trafficking": "Trafficking",
    "fgm": "Female genital mutilation (FGM)",
    "health": "Health",
    "behaviour": "Behaviour",
}
NONE_KNOWN = "none_known"


@dataclass(frozen=True)
class EnquiryKind:
    code: str
    label: str
    missing_message: str
    required: bool = True


# BR-S4: the minimum enquiries a school makes before referring. Each needs a logged enquiry
# or a reason it was not possible; `other_la` only when the family is believed to have moved.
ENQUIRY_KINDS: tuple[EnquiryKind, ...] = (
    EnquiryKind(
        "first_day_call",
        "First-day call to all contacts",
        "Record the first-day calls to all contacts (or give a reason they were not possible)",
    ),
    EnquiryKind(
        "emergency_contacts",
        "All emergency contacts called at different times of day",
        "Record the calls to all emergency contacts at different times of day "
        "(or give a reason they were not possible)",
    ),
    EnquiryKind(
        "letter",
        "Letter to the last known address and the emergency contact's address",
        "Record the letter sent to the last known address (or give a reason it was not possible)",
    ),
    EnquiryKind(
        "siblings_friends",
        "Siblings, friends or relatives in school asked",
        "Record asking siblings, friends or relatives in school (or give a reason it was not "
        "possible)",
    ),
    EnquiryKind(
        "sibling_schools",
        "Schools of siblings contacted",
        "Record contacting the schools of any siblings (or give a reason, for example no "
        "siblings at other schools)",
    ),
    EnquiryKind(
        "agencies",
        "Agencies known to be involved contacted",
        "Record contacting agencies known to be involved (or give a reason, for example no "
        "agencies involved)",
    ),
    EnquiryKind(
        "home_visit",
        "Home visit",
        "Record the outcome of at least one home visit (or give a reason a visit was not possible)",
    ),
    EnquiryKind(
        "social_media",
        "Social media check",
        "Record the social media check (or give a reason it was not possible)",
    ),
    EnquiryKind(
        "other_la",
        "Other local authority contacted about a new address",
        "Record contacting the local authority for the new address (or give a reason it was "
        "not possible)",
        required=False,
    ),
    EnquiryKind("other", "Other enquiry", "", required=False),
)
ENQUIRY_LABELS = {k.code: k.label for k in ENQUIRY_KINDS}

REFERRER_FIELDS = ("referrer_name", "referrer_job_title", "referrer_phone", "referrer_email")
CHILD_FIELDS = (
    "first_name",
    "middle_names",
    "last_name",
    "known_as",
    "date_of_birth",
    "dob_confirmed",
    "sex",
    "upn",
    "first_language",
    "interpreter_needed",
    "sen_status",
    "traveller_family",
)
HOME_ADDRESS_FIELDS = ("home_line1", "home_line2", "home_town", "home_postcode")
ABSENCE_FIELDS = (
    "on_roll_status",
    "category",
    "date_last_attended",
    "date_school_aware",
    "absence_days",
    "absence_codes",
    "absence_codes_confirmed",
    "expected_start_date",
    "leave_ends_on",
    "roll_deleted_on",
    "roll_deletion_ground",
    "history_of_non_attendance",
    "believed_destination",
    "proposed_deletion_ground",
)
CONCERN_FIELDS = (
    *(f"concern-{c}" for c in CONCERNS),
    f"concern-{NONE_KNOWN}",
    "concerns_narrative",
)
DSL_FIELDS = (
    "dsl_name",
    "known_to_csc",
    "cp_plan",
    "child_in_need",
    "looked_after",
    "significant_harm",
    "mash_referred_on",
    "mash_reference",
    "social_worker_told",
    "social_worker_told_on",
    "virtual_school_told",
    "virtual_school_told_on",
    "dsl_appraisal",
)
REASON_FIELDS = tuple(f"reason-{k.code}" for k in ENQUIRY_KINDS if k.code != "other")
SCALAR_FIELDS = frozenset(
    REFERRER_FIELDS
    + CHILD_FIELDS
    + HOME_ADDRESS_FIELDS
    + ABSENCE_FIELDS
    + CONCERN_FIELDS
    + DSL_FIELDS
    + REASON_FIELDS
)
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "address": ("kind", "line1", "town", "postcode", "country", "source"),
    "person": (
        "kind",
        "full_name",
        "relationship",
        "phone",
        "email",
        "lives_with_child",
        "parental_responsibility",
        "emergency_contact",
        "school_name",
        "date_of_birth",
    ),
    "enquiry": ("kind", "made_on", "time_of_day", "contacted", "method", "result"),
}
ROW_KEY = re.compile(r"^(address|person|enquiry)-([a-z0-9]{1,16})-([a-z_0-9]+)$")
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_form_data(raw: Any) -> dict[str, str]:
    """Keep only known field names, as trimmed strings of bounded length."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    rows: dict[str, set[str]] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            continue
        if isinstance(value, bool):  # checkboxes arrive as booleans from the browser
            if not value:
                continue
            value = "on"
        m = ROW_KEY.match(key)
        if m:
            group, row_id, name = m.groups()
            if name not in ROW_FIELDS[group]:
                continue
            ids = rows.setdefault(group, set())
            if row_id not in ids and len(ids) >= MAX_ROWS:
                continue
            ids.add(row_id)
        elif key not in SCALAR_FIELDS:
            continue
        out[key] = str(value).strip()[:MAX_VALUE_LENGTH]
    return out


def row_ids(form: dict[str, str], group: str) -> list[str]:
    """Row ids of a repeating group, in form order."""
    seen: list[str] = []
    for key in form:
        m = ROW_KEY.match(key)
        if m and m.group(1) == group and m.group(2) not in seen:
            seen.append(m.group(2))
    return seen


def rows(form: dict[str, str], group: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for rid in row_ids(form, group):
        values = {f: form.get(f"{group}-{rid}-{f}", "") for f in ROW_FIELDS[group]}
        if any(v for k, v in values.items() if k not in ("kind", "country", "source")):
            out.append((rid, values))
    return out


def is_checked(value: str | None) -> bool:
    return (value or "").lower() in {"on", "true", "yes", "1"}


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def normalise_upn(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def upn_error(value: str) -> str | None:
    try:
        upn_check.validate(value)
    except InvalidLength:
        return "UPN must be 13 characters, like A383200012401"
    except InvalidChecksum:
        return "UPN check letter invalid. Check the UPN in your school's records"
    except ValidationError:
        return "Enter a UPN in the correct format, like A383200012401"
    return None


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


# ----- the rules --------------------------------------------------------------------------
# Each section of the form has its checker below, run in form order so the error summary reads
# top to bottom. Where a rule is only "must be filled in" or "must be one of the choices", it
# is data: (field, message) or (field, choices, message).

REFERRER_REQUIRED = (
    ("referrer_name", "Enter your name"),
    ("referrer_job_title", "Enter your job title"),
    ("referrer_phone", "Enter a phone number the CME team can call you on"),
)
ADDRESS_ROW_RULES = (
    ("kind", ADDRESS_KIND_CHOICES, "Select the type of the other address"),
    ("line1", None, "Enter the first line of the other address"),
)
PERSON_ROW_RULES = (
    ("kind", PERSON_KIND_CHOICES, "Select who this person is"),
    ("full_name", None, "Enter the person's full name"),
    ("relationship", None, "Enter the person's relationship to the child"),
)
ENQUIRY_ROW_RULES = (
    ("kind", ENQUIRY_LABELS, "Select the type of enquiry"),
    ("made_on", "date", "date of the enquiry"),
    ("contacted", None, "Enter who was contacted"),
    ("method", METHOD_CHOICES, "Select how they were contacted"),
    ("result", None, "Enter the result of the enquiry"),
)
# A "yes" to the first three means the child is open to social care: their social worker is
# told. Suspected significant harm in a child not open to social care goes to the Front Door.
DSL_FLAGS = (
    ("cp_plan", "Select whether the child has a child protection plan"),
    ("child_in_need", "Select whether the child is a child in need"),
    ("looked_after", "Select whether the child is looked after"),
    ("significant_harm", "Select whether you suspect significant harm"),
)
NOT_OF_SCHOOL_AGE = (
    "This date of birth means the child is not of compulsory school age. Check it, or tick "
    "'The date of birth is correct' to refer anyway"
)
MASH_FIRST = (
    "Enter the date you referred the child to the Front Door (MASH). A child you suspect is at "
    "risk of significant harm who is not open to social care must be referred there first"
)
OPEN_TO_CSC_FLAGS = ("cp_plan", "child_in_need", "looked_after")


@dataclass
class _Checker:
    form: dict[str, str]
    today: date
    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_id: str, message: str) -> None:
        self.errors.append(FieldError(field_id, message))

    def required(self, name: str, message: str) -> str:
        value = self.form.get(name, "")
        if not value:
            self.add(name, message)
        return value

    def choice(self, name: str, choices: dict[str, str], message: str) -> str:
        value = self.form.get(name, "")
        if value not in choices:
            self.add(name, message)
        return value

    def past_date(self, name: str, what: str, *, required: bool = True) -> date | None:
        raw = self.form.get(name, "")
        if not raw:
            if required:
                self.add(name, f"Enter the {what}")
            return None
        value = parse_date(raw)
        what = f"{what[0].upper()}{what[1:]}"
        if value is None:
            self.add(name, f"{what} must be a real date")
        elif value > self.today:
            self.add(name, f"{what} must be today or in the past")
            return None
        elif value.year < 1990:
            self.add(name, f"{what} must be after 1990")
            return None
        return value

    def email(self, name: str, message: str) -> None:
        value = self.form.get(name, "")
        if value and not EMAIL.match(value):
            self.add(name, message)

    def row(self, prefix: str, rules) -> None:
        """One row of a repeating group: (field, choices | None | "date", message) rules."""
        for name, kind, message in rules:
            key = f"{prefix}-{name}"
            if kind == "date":
                self.past_date(key, message)
            elif kind is None:
                self.required(key, message)
            else:
                self.choice(key, kind, message)


def _referrer(c: _Checker) -> None:
    for name, message in REFERRER_REQUIRED:
        c.required(name, message)
    if c.required("referrer_email", "Enter your email address"):
        c.email("referrer_email",
                "Enter an email address in the correct format, like name@school.org")


def _child(c: _Checker) -> None:
    c.required("first_name", "Enter the child's first name")
    c.required("last_name", "Enter the child's last name")
    dob = c.past_date("date_of_birth", "child's date of birth")
    if dob is not None and not is_checked(c.form.get("dob_confirmed")):
        start, end = compulsory_school_age(dob)
        if not (start <= c.today <= end):
            c.add("date_of_birth", NOT_OF_SCHOOL_AGE)
    c.choice("sex", SEX_CHOICES, "Select the child's sex")
    on_roll = c.choice(
        "on_roll_status", ON_ROLL_CHOICES, "Select whether the child is on your roll"
    )
    upn = normalise_upn(c.form.get("upn", ""))
    if upn:
        if message := upn_error(upn):
            c.add("upn", message)
    elif on_roll in ("on_roll", "deleted"):
        c.add("upn", "Enter the child's UPN (the child is or was on your roll)")
    c.choice("sen_status", SEN_CHOICES, "Select the child's special educational needs status")


def _addresses(c: _Checker) -> None:
    c.required("home_line1", "Enter the first line of the child's home address")
    postcode = c.required("home_postcode", "Enter the postcode of the child's home address")
    if postcode and not POSTCODE.match(normalise_postcode(postcode)):
        c.add("home_postcode", "Enter a real postcode, like LS2 8BU")
    for rid, _row in rows(c.form, "address"):
        c.row(f"address-{rid}", ADDRESS_ROW_RULES)


def _people(c: _Checker) -> None:
    people = rows(c.form, "person")
    if not any(r["kind"] == "parent_carer" for _, r in people):
        c.add("add-person", "Add at least one parent or carer")
    for rid, row in people:
        prefix = f"person-{rid}"
        c.row(prefix, PERSON_ROW_RULES)
        lives_with = row["kind"] == "parent_carer" and is_checked(row["lives_with_child"])
        if lives_with and not row["phone"]:
            c.add(f"{prefix}-phone",
                  "Enter a phone number for each parent or carer the child lives with")
        c.email(f"{prefix}-email", "Enter the person's email address in the correct format")
        c.past_date(f"{prefix}-date_of_birth", "person's date of birth", required=False)


def never_started(form: dict[str, str]) -> bool:
    """The child never attended: the form asks for the expected start date instead of the
    date last attended, and ground I's clock runs from it."""
    return (form.get("on_roll_status") == "never_started"
            or form.get("category") == "failed_to_start")


def _absence(c: _Checker) -> None:
    c.choice("category", CATEGORY_CHOICES, "Select why you are referring the child")
    if never_started(c.form):
        first = c.past_date("expected_start_date", "date the child was expected to start")
        what = "the date the child was expected to start"
    else:
        first = c.past_date("date_last_attended", "date the child last attended")
        what = "the date last attended"
    aware = c.past_date("date_school_aware", "date the school became aware the child was missing")
    if first and aware and aware < first:
        c.add("date_school_aware", f"Date school became aware must be the same as or after {what}")
    days = c.form.get("absence_days", "")
    if days and (not digits(days) or int(days) > 400):
        c.add("absence_days", "Days of unauthorised absence must be a whole number, like 12")
    if c.form.get("category") == "not_returned_after_leave":
        c.past_date("leave_ends_on", "date the agreed leave ended", required=False)
    _grounds(c)


def _grounds(c: _Checker) -> None:
    """A deletion already made needs its date and ground (reg 9(1)); ground I, proposed or
    used, needs the school's confirmation of the attendance codes."""
    ground = c.form.get("proposed_deletion_ground", "")
    if ground and ground not in DELETION_GROUNDS:
        c.add("proposed_deletion_ground", "Select a deletion ground from A to O")
    used = ""
    if c.form.get("on_roll_status") == "deleted":
        c.past_date("roll_deleted_on", "date the child was removed from your roll")
        used = c.choice("roll_deletion_ground", DELETION_GROUNDS,
                        "Select the ground you removed the child from your roll under")
    if "I" in (ground, used) and c.form.get("absence_codes_confirmed") != "yes":
        c.add("absence_codes_confirmed", GROUND_I_CONFIRM_FIRST)


def _enquiries(c: _Checker) -> None:
    """Each logged enquiry, then BR-S4: each minimum enquiry logged or a reason given."""
    logged = set()
    for rid, row in rows(c.form, "enquiry"):
        c.row(f"enquiry-{rid}", ENQUIRY_ROW_RULES)
        logged.add(row["kind"])
    moved = c.form.get("category") == "moved_out_of_area"
    for kind in ENQUIRY_KINDS:
        needed = kind.required or (kind.code == "other_la" and moved)
        if needed and kind.code not in logged and not c.form.get(f"reason-{kind.code}"):
            c.add(f"reason-{kind.code}", kind.missing_message)


def _concerns(c: _Checker) -> None:
    chosen = [code for code in CONCERNS if is_checked(c.form.get(f"concern-{code}"))]
    none_known = is_checked(c.form.get(f"concern-{NONE_KNOWN}"))
    if not chosen and not none_known:
        c.add("concern-safeguarding", "Select the specific concerns, or 'None known'")
    elif chosen and none_known:
        c.add("concern-safeguarding", "Select 'None known' or specific concerns, not both")
    elif chosen and not c.form.get("concerns_narrative"):
        c.add("concerns_narrative", "Describe the concerns you have selected")


def open_to_social_care(form: dict[str, str]) -> bool:
    return form.get("known_to_csc") == "current" or any(
        form.get(name) == "yes" for name in OPEN_TO_CSC_FLAGS)


def _told(c: _Checker, who: str, question: str, what: str) -> None:
    if c.choice(f"{who}_told", YES_NO, question) == "yes":
        c.past_date(f"{who}_told_on", what)


def _dsl(c: _Checker) -> None:
    c.required("dsl_name", "Enter the name of the designated safeguarding lead")
    c.choice(
        "known_to_csc", CSC_CHOICES, "Select whether the child is known to children's social care"
    )
    flags = {name: c.choice(name, YNU_CHOICES, message) for name, message in DSL_FLAGS}
    mash_on = c.past_date(
        "mash_referred_on", "date concerns were referred to the Front Door", required=False
    )
    if open_to_social_care(c.form):
        _told(c, "social_worker", "Select whether you told the child's social worker",
              "date you told the social worker")
        if flags["looked_after"] == "yes":
            _told(c, "virtual_school", "Select whether you told the virtual school",
                  "date you told the virtual school")
    elif flags["significant_harm"] == "yes" and mash_on is None \
            and not c.form.get("mash_referred_on"):
        c.add("mash_referred_on", MASH_FIRST)
    c.required("dsl_appraisal", "Enter the designated safeguarding lead's appraisal of the risk")


SECTIONS = (_referrer, _child, _addresses, _people, _absence, _enquiries, _concerns, _dsl)


def validate(form: dict[str, str], *, today: date) -> list[FieldError]:
    """Every rule a referral must pass before it is submitted, in form order."""
    c = _Checker(form, today)
    for check in SECTIONS:
        check(c)
    return c.errors


def is_late(date_school_aware: date, submitted_on: date, weeks: int = 4) -> bool:
    """BR-S1: Leeds asks for the referral within four weeks of the school becoming aware."""
    return submitted_on - date_school_aware > timedelta(weeks=weeks)
