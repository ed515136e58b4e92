"""Check your answers: the draft's answers in words, one row per question, each with the
page and field its Change link goes to. Pure functions of the draft's fields."""

from __future__ import annotations

from ...dates import long_date
from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRMATION, ground_words
from ...services.intake import referral_form as rf
from . import referral_tasks as rt

NOT_GIVEN = "Not given"
YES = "Yes"
GROUNDS = {g: ground_words(g) for g in DELETION_GROUNDS}


def _date(value: str) -> str:
    parsed = rf.parse_date(value)
    return long_date(parsed) if parsed else value


def _text(form: dict[str, str], name: str, choices: dict[str, str] | None = None) -> str:
    value = form.get(name, "")
    if not value:
        return ""
    if choices is not None:
        return choices.get(value, value)
    return _date(value) if rt.is_date(name) else value


def _row(section: str, label: str, value: str, field: str, page: str = "") -> list[str]:
    """[section, question, answer, page, field]"""
    return [section, label, value or NOT_GIVEN, page or section, field]


def _rows(section: str, form, specs) -> list[list[str]]:
    """(field, label, choices) specs; a tick box reads Yes when ticked and is left out if not."""
    out = []
    for name, label, choices in specs:
        if choices == "tick":
            if rf.is_checked(form.get(name)):
                out.append(_row(section, label, YES, name))
            continue
        out.append(_row(section, label, _text(form, name, choices), name))
    return out


def _about_you(form):
    return _rows("about-you", form, (
        ("referrer_name", "Your name", None), ("referrer_job_title", "Job title", None),
        ("referrer_phone", "Phone number", None), ("referrer_email", "Email address", None)))


def _child(form):
    name = " ".join(form.get(f, "") for f in ("first_name", "middle_names", "last_name")
                    if form.get(f))
    return [_row("child", "Name", name, "first_name"), *_rows("child", form, (
        ("known_as", "Other names used", None), ("date_of_birth", "Date of birth", None),
        ("dob_confirmed", "The date of birth is correct", "tick"),
        ("sex", "Sex", rf.SEX_CHOICES), ("upn", "UPN", None),
        ("first_language", "First language", None),
        ("interpreter_needed", "An interpreter is needed", "tick"),
        ("traveller_family", "Gypsy, Roma or Traveller family", "tick"),
        ("sen_status", "Special educational needs", rf.SEN_CHOICES)))]


def _addresses(form):
    home = ", ".join(form.get(f, "") for f in rf.HOME_ADDRESS_FIELDS if form.get(f))
    out = [_row("addresses", "Home address", home, "home_line1")]
    for rid, row in rf.rows(form, "address"):
        kind = rf.ADDRESS_KIND_CHOICES.get(row["kind"], "Other address")
        where = ", ".join(row[f] for f in ("line1", "town", "postcode", "country") if row[f])
        out.append(_row("addresses", kind, where, f"address-{rid}-kind"))
    return out


def _people(form):
    out = []
    for rid, row in rf.rows(form, "person"):
        kind = rf.PERSON_KIND_CHOICES.get(row["kind"], "")
        facts = [kind, row["relationship"], row["phone"], row["email"]]
        facts += [words for flag, words in (
            ("lives_with_child", "lives with the child"),
            ("parental_responsibility", "has parental responsibility"),
            ("emergency_contact", "emergency contact")) if rf.is_checked(row[flag])]
        out.append(_row("people", row["full_name"] or "Person",
                        ", ".join(f for f in facts if f), f"person-{rid}-kind"))
    return out or [_row("people", "Parents and carers", "", "add-person")]


def _absence(form):
    first = (("expected_start_date", "Date the child was expected to start", None)
             if rf.never_started(form) else ("date_last_attended", "Date last attended", None))
    specs = [("on_roll_status", "On your school roll", rf.ON_ROLL_CHOICES)]
    if form.get("on_roll_status") == "deleted":
        specs += [("roll_deleted_on", "Date removed from your roll", None),
                  ("roll_deletion_ground", "Ground you removed the child under", GROUNDS)]
    specs += [("category", "Why you are referring the child", rf.CATEGORY_CHOICES), first,
              ("date_school_aware", "Date school became aware", None),
              ("absence_days", "Days of unauthorised absence", None),
              ("absence_codes", "Attendance codes used", None),
              ("absence_codes_confirmed", GROUND_I_CONFIRMATION, rf.YES_NO),
              ("history_of_non_attendance", "History of poor attendance", "tick"),
              ("believed_destination", "Where the child may be", None),
              ("proposed_deletion_ground", "Deletion ground you intend to use", GROUNDS)]
    return _rows("absence", form, specs)


def _enquiries(form):
    out = []
    for rid, label in rt.check_rows(form):
        row = {f: form.get(f"enquiry-{rid}-{f}", "") for f in rf.ROW_FIELDS["enquiry"]}
        done = ", ".join(p for p in (_date(row["made_on"]), row["contacted"],
                                     rf.METHOD_CHOICES.get(row["method"], "")) if p)
        value = f"{done}: {row['result']}" if row["result"] else done
        field = f"enquiry-{rid}-made_on"
        out.append(_row("enquiries", label, value, field, rt.page_query(field)))
    for code, label in rt.reasons_needed(form):
        reason = form.get(f"reason-{code}", "")
        out.append(_row("enquiries", label, f"Not done: {reason}" if reason else "",
                        f"reason-{code}", rt.REASONS))
    return out or [_row("enquiries", "Checks done", "", "done-first_day_call", "enquiries")]


def _concerns(form):
    chosen = [label for code, label in rf.CONCERNS.items()
              if rf.is_checked(form.get(f"concern-{code}"))]
    if rf.is_checked(form.get(f"concern-{rf.NONE_KNOWN}")):
        chosen.append("None known")
    return [_row("concerns", "Specific concerns", ", ".join(chosen), "concern-safeguarding"),
            *_rows("concerns", form, (("concerns_narrative", "Description", None),))]


def _safeguarding(form):
    return _rows("safeguarding", form, (
        ("dsl_name", "Designated safeguarding lead", None),
        ("known_to_csc", "Known to children's social care", rf.CSC_CHOICES),
        ("cp_plan", "Child protection plan", rf.YNU_CHOICES),
        ("child_in_need", "Child in need", rf.YNU_CHOICES),
        ("looked_after", "Looked after (in care)", rf.YNU_CHOICES),
        ("significant_harm", "Suspected risk of significant harm", rf.YNU_CHOICES),
        ("social_worker_told", "Social worker told", rf.YES_NO),
        ("social_worker_told_on", "Date the social worker was told", None),
        ("virtual_school_told", "Virtual school told", rf.YES_NO),
        ("mash_referred_on", "Date referred to the Front Door (MASH)", None),
        ("mash_reference", "Front Door reference", None),
        ("dsl_appraisal", "Appraisal of the risk", None),
    ))


SECTION_ROWS = {
    "about-you": _about_you, "child": _child, "addresses": _addresses, "people": _people,
    "absence": _absence, "enquiries": _enquiries, "concerns": _concerns,
    "safeguarding": _safeguarding,
}


def answers(form: dict[str, str]) -> list[list[str]]:
    """Every row of Check your answers: [section, question, answer, page, field]."""
    return [row for s in rt.SECTIONS for row in SECTION_ROWS[s.key](form)]
