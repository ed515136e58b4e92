"""The referral form as a GOV.UK task list: which page each field is on, each section's
status, the GOV.UK date input's three boxes, and the enquiry answers mapped onto the fields
the service reads. Pure functions of the draft's fields: no Reflex, no database.

The rules for what a referral needs stay in services/intake/referral_form.py; here a section
is "Completed" when it has answers and the service's own rules find nothing wrong in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ...dates import DATE_BOX, join_date, split_date
from ...services.intake import referral_form as rf

NOT_STARTED, IN_PROGRESS, COMPLETED = "Not started", "In progress", "Completed"
CHECK = "check"  # the Check your answers page's key in the address
DETAILS = "enquiry-details"  # the enquiries section: one page per check done (`check=`)
REASONS = "enquiry-reasons"  # then one page for why the checks not done were not possible


@dataclass(frozen=True)
class Section:
    key: str  # the `section` in the page's address
    title: str
    fields: tuple[str, ...]  # scalar fields on its page(s)
    groups: tuple[str, ...] = ()  # repeating groups on its page(s)
    extra_ids: tuple[str, ...] = ()  # error anchors that are not fields


SECTIONS: tuple[Section, ...] = (
    Section("about-you", "About you", rf.REFERRER_FIELDS),
    Section("child", "The child", rf.CHILD_FIELDS),
    Section("addresses", "Addresses", rf.HOME_ADDRESS_FIELDS, ("address",)),
    Section("people", "Parents, carers and household", (), ("person",), ("add-person",)),
    Section("absence", "The absence", rf.ABSENCE_FIELDS),
    Section("enquiries", "Enquiries already made", rf.REASON_FIELDS, ("enquiry",)),
    Section("concerns", "Specific concerns", rf.CONCERN_FIELDS),
    Section("safeguarding", "Safeguarding lead's view", rf.DSL_FIELDS),
)
BY_KEY = {s.key: s for s in SECTIONS}
PAGES = (*[s.key for s in SECTIONS[:6]], DETAILS, REASONS, *[s.key for s in SECTIONS[6:]])
_SCALAR_SECTION = {name: s.key for s in SECTIONS for name in (*s.fields, *s.extra_ids)}
_GROUP_SECTION = {g: s.key for s in SECTIONS for g in s.groups}
# Filled in for the school before it types anything: not a sign the section was started.
PREFILLED = frozenset({"referrer_email"})

# Date fields, shown as the GOV.UK date input (day, month, year) and stored as the service
# reads them: YYYY-MM-DD.
DATE_FIELDS = frozenset({
    "date_of_birth", "date_last_attended", "date_school_aware", "expected_start_date",
    "leave_ends_on", "roll_deleted_on", "mash_referred_on", "social_worker_told_on",
    "virtual_school_told_on",
})
ROW_DATE_FIELDS = frozenset({"date_of_birth", "made_on"})
PARTS = ("day", "month", "year")


def section_of(field_id: str) -> str:
    """The section a field (or an error's anchor) belongs to; "" if none."""
    if field_id in _SCALAR_SECTION:
        return _SCALAR_SECTION[field_id]
    m = rf.ROW_KEY.match(field_id)
    return _GROUP_SECTION.get(m.group(1), "") if m else ""


def page_of(field_id: str) -> str:
    """The page a field is on: a check's details on its own page, the reasons on theirs."""
    if field_id.startswith("reason-"):
        return REASONS
    if field_id.startswith("enquiry-"):
        return DETAILS
    return section_of(field_id)


def page_query(field_id: str) -> str:
    """The page a field is on as the address names it: a check's page names its row."""
    page = page_of(field_id)
    m = rf.ROW_KEY.match(field_id)
    return f"{page}&check={m.group(2)}" if page == DETAILS and m else page


def is_date_box(key: str) -> bool:
    """One of a date input's three boxes (`<date field>-day`, `-month`, `-year`)."""
    m = DATE_BOX.fullmatch(key)
    return bool(m) and is_date(m.group(1))


def is_date(field_id: str) -> bool:
    m = rf.ROW_KEY.match(field_id)
    return m.group(3) in ROW_DATE_FIELDS if m else field_id in DATE_FIELDS


def _started(form: dict[str, str], section: Section) -> bool:
    for key, value in form.items():
        kind_only = key.startswith("enquiry-") and key.endswith("-kind")  # see done_checks
        if value and key not in PREFILLED and not kind_only and section_of(key) == section.key:
            return True
    # Enquiries: ticking which checks were done is an answer too.
    return section.key == "enquiries" and bool(done_checks(form))


def statuses(form: dict[str, str], *, today: date) -> dict[str, str]:
    """Each section: Not started (nothing answered), Completed (answered, and the service's
    rules find nothing wrong in it), else In progress."""
    wrong = {section_of(e.field) for e in rf.validate(form, today=today)}
    return {
        s.key: (NOT_STARTED if not _started(form, s)
                else IN_PROGRESS if s.key in wrong else COMPLETED)
        for s in SECTIONS
    }


def errors_on_page(form: dict[str, str], page: str, *, today: date,
                   row: str = "") -> list[list[str]]:
    """The service's errors for the fields on one page (a check's page: its row's):
    [field, message]."""
    where = f"{page}&check={row}" if page == DETAILS else page
    return [[e.field, e.message] for e in rf.validate(form, today=today)
            if page_query(e.field) == where]


def next_page(form: dict[str, str], page: str, row: str = "") -> str:
    """The page after `page` (and, on a check's page, its `row`), as the address names it:
    each done check's page in turn, then the reasons if any are needed, then on."""
    if page in ("enquiries", DETAILS):
        rows = [r for r, _label in check_rows(form)]
        after = rows[rows.index(row) + 1:] if page == DETAILS and row in rows else (
            [] if page == DETAILS else rows)
        if after:
            return f"{DETAILS}&check={after[0]}"
        return REASONS if reasons_needed(form) else "concerns"
    at = PAGES.index(page)
    return PAGES[at + 1] if at + 1 < len(PAGES) else CHECK


# ----- dates ------------------------------------------------------------------------------


def join_dates(fields: dict[str, str]) -> dict[str, str]:
    """The form's `<field>-day`, `-month`, `-year` boxes as one `<field>` each."""
    out: dict[str, str] = {}
    parts: dict[str, dict[str, str]] = {}
    for key, value in fields.items():
        m = DATE_BOX.fullmatch(key)
        if m and is_date(m.group(1)):
            parts.setdefault(m.group(1), {})[m.group(2)] = value if isinstance(value, str) else ""
        else:
            out[key] = value
    for name, p in parts.items():
        out[name] = join_date(p.get("day", ""), p.get("month", ""), p.get("year", ""))
    return out


def with_date_parts(form: dict[str, str]) -> dict[str, str]:
    """The draft's fields plus the boxes of each date, for drawing the form."""
    out = dict(form)
    for key, value in form.items():
        if is_date(key):
            for part, text in split_date(value).items():
                out[f"{key}-{part}"] = text
    return out


# ----- enquiries: which checks were done, then the details of each ------------------------
# The service reads enquiry rows (`enquiry-<row>-kind` and the details) and, for a minimum
# check with no row, `reason-<check>`. The page asks first which checks were done: each done
# check gets one row, named after the check so that asking again finds the same row.

CHECKS = tuple(k for k in rf.ENQUIRY_KINDS if k.code != "other")


def row_id(code: str) -> str:
    """The row a done check's details go in: `first_day_call` -> `firstdaycall`."""
    return code.replace("_", "")[:16]


def done_checks(form: dict[str, str]) -> list[str]:
    """The checks the school said it did: each has a row of its kind."""
    kinds = {form.get(f"enquiry-{rid}-kind", "") for rid in rf.row_ids(form, "enquiry")}
    return [k.code for k in CHECKS if k.code in kinds]


def needs_reason(code: str, form: dict[str, str]) -> bool:
    """The minimum checks (BR-S4) need a reason when not done; another LA only when the family
    is believed to have moved out of the area."""
    kind = next(k for k in CHECKS if k.code == code)
    return kind.required or (code == "other_la" and form.get("category") == "moved_out_of_area")


def apply_done_checks(form: dict[str, str], done: set[str]) -> dict[str, str]:
    """The changes to the draft after the school said which checks it did: a row for each
    newly done check, its reason cleared; the rows of a check no longer done emptied."""
    changes: dict[str, str] = {}
    have = {form.get(f"enquiry-{rid}-kind", ""): rid for rid in rf.row_ids(form, "enquiry")}
    for kind in CHECKS:
        code = kind.code
        if code in done:
            if code not in have:
                changes[f"enquiry-{row_id(code)}-kind"] = code
            if form.get(f"reason-{code}"):
                changes[f"reason-{code}"] = ""
        else:
            for rid in rf.row_ids(form, "enquiry"):
                if form.get(f"enquiry-{rid}-kind") == code:
                    changes.update({f"enquiry-{rid}-{f}": "" for f in rf.ROW_FIELDS["enquiry"]})
    return changes


def check_rows(form: dict[str, str]) -> list[list[str]]:
    """The details page's rows: [row id, the check's words], in the list's order."""
    out = []
    for kind in rf.ENQUIRY_KINDS:
        for rid in rf.row_ids(form, "enquiry"):
            if form.get(f"enquiry-{rid}-kind") == kind.code:
                out.append([rid, kind.label])
    return out


def reasons_needed(form: dict[str, str]) -> list[list[str]]:
    """The checks not done that need a reason: [code, words]."""
    done = set(done_checks(form))
    return [[k.code, k.label] for k in CHECKS if k.code not in done and needs_reason(k.code, form)]


# ----- what one page sends ----------------------------------------------------------------


def page_fields(page: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(scalar fields, repeating groups) the page holds."""
    if page == "enquiries":
        return (), ()
    if page == DETAILS:
        return (), ("enquiry",)
    if page == REASONS:
        return rf.REASON_FIELDS, ()
    section = BY_KEY[page]
    return section.fields, section.groups


CHECKBOXES = frozenset({
    "dob_confirmed", "interpreter_needed", "traveller_family", "history_of_non_attendance",
    *(f"concern-{c}" for c in rf.CONCERNS), f"concern-{rf.NONE_KNOWN}",
})
ROW_CHECKBOXES = frozenset({"lives_with_child", "parental_responsibility", "emergency_contact"})


def page_changes(page: str, sent: dict, rows: dict[str, list[str]]) -> dict[str, str]:
    """What a page's Save and continue sends, as changes to the draft: its own fields only,
    dates joined, and each checkbox on the page "" when unticked (a browser sends nothing)."""
    data = rf.clean_form_data(join_dates({k: v for k, v in sent.items() if isinstance(k, str)}))
    scalars, groups = page_fields(page)
    out = {k: v for k, v in data.items()
           if k in scalars or ((m := rf.ROW_KEY.match(k)) and m.group(1) in groups)}
    for name in scalars:
        if name in CHECKBOXES:
            out.setdefault(name, "")
    for rid in rows.get("person", []) if "person" in groups else []:
        for name in ROW_CHECKBOXES:
            out.setdefault(f"person-{rid}-{name}", "")
    return out
