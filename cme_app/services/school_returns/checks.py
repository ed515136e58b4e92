"""Reading one deletion or new-pupil return, from the page's form or one CSV row: every rule,
every error at once, in form order. The CSV's columns are the form's field names, so an
upload's row and the page's form pass the same checks and say the same things."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func

from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRM_FIRST, GROUNDS_NAMING_A_SCHOOL
from ...models import School
from ..forms import Form
from ..intake import referral_form as rf

SEXES = {"female": "Female", "male": "Male", "unknown": "Not known"}
CSV_SEXES = {"F": "female", "M": "male", "U": "unknown"}
PARENT_SLOTS = (1, 2)
_URN = re.compile(r"\d{6}")
_LA_CODE = re.compile(r"\d{3}")
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")
_PHONE = re.compile(r"\+?[0-9 ()-]{10,20}")
OLDEST_PUPIL_YEARS = 25
# A new pupil's start date may be this far ahead: a school registers a pupil from the day
# they are expected to attend.
NEW_PUPIL_START_AHEAD = timedelta(days=60)


class SchoolRef(NamedTuple):
    """What a return needs of its school (a file's rows name many: no ORM objects)."""

    id: int
    urn: str
    name: str


@dataclass(frozen=True)
class Pupil:
    upn: str | None
    first_name: str
    last_name: str
    date_of_birth: date


# ----- One pupil, two returns: the same rule as Python keys (a file's rows) and as SQL


def pupil_keys(scope: tuple, upn: str | None, first: str, last: str,
               dob: date) -> list[tuple]:
    """Keys a stored pupil is found by within `scope`: name and date of birth, and UPN."""
    keys = [(*scope, "name", first.strip().lower(), last.strip().lower(), dob)]
    return [*keys, (*scope, "upn", upn)] if upn else keys


def pupil_key(scope: tuple, p: Pupil) -> tuple:
    """The key a pupil is looked up by: the UPN where given, else name and date of birth."""
    return pupil_keys(scope, p.upn, p.first_name, p.last_name, p.date_of_birth)[-1]


def same_pupil(model: Any, p: Pupil) -> ColumnElement[bool]:
    """`pupil_key`'s rule as a condition on a return table's columns."""
    if p.upn:
        return model.upn == p.upn
    return ((func.lower(model.first_name) == p.first_name.lower())
            & (func.lower(model.last_name) == p.last_name.lower())
            & (model.date_of_birth == p.date_of_birth))


@dataclass(frozen=True)
class Parent:
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class Deletion:
    """A deletion return that passed every check."""

    school: School | SchoolRef
    pupil: Pupil
    sex: str
    address_line1: str
    town: str
    postcode: str
    parents: tuple[Parent, ...]
    deletion_date: date
    ground: str
    absence_codes_confirmed: bool
    new_address: str
    moved_abroad: bool
    new_parent_name: str
    new_parent_from: date | None
    destination_school_urn: str
    destination_school_start: date | None
    destination_la_code: str
    notes: str


@dataclass(frozen=True)
class NewPupil:
    school: School | SchoolRef
    pupil: Pupil
    start_date: date
    postcode: str


def _pupil(f: Form) -> Pupil:
    first = f.text("first_name", "Enter the pupil's first name", limit=100)
    last = f.text("last_name", "Enter the pupil's last name", limit=100)
    dob = f.day("date_of_birth", "pupil's date of birth")
    if dob and dob < f.today.replace(year=f.today.year - OLDEST_PUPIL_YEARS):
        f.error("date_of_birth", "Check the date of birth: the pupil would be over "
                f"{OLDEST_PUPIL_YEARS}")
    upn = rf.normalise_upn(f.text("upn", "", required=False, limit=20))
    if upn and (problem := rf.upn_error(upn)):
        f.error("upn", problem)
    return Pupil(upn or None, first, last, dob)  # type: ignore[arg-type]


def _postcode(f: Form, name: str) -> str:
    postcode = rf.normalise_postcode(f.text(name, "", required=False, limit=10))
    if postcode and not _POSTCODE.fullmatch(postcode):
        f.error(name, "Enter a real postcode, like LS1 4AP")
    return postcode


def _phone(f: Form, name: str, whose: str, *, required: bool) -> str:
    phone = f.text(name, f"Enter an emergency phone number for {whose}", required=required,
                   limit=40)
    if phone and not (_PHONE.fullmatch(phone) and sum(c.isdigit() for c in phone) >= 10):
        f.error(name, "Enter a phone number, like 0113 222 3333 or +44 7700 900982")
    return phone


def _parents(f: Form) -> tuple[Parent, ...]:
    """Each parent the pupil normally lives with, with an emergency phone each (reg 13(4))."""
    parents = []
    for slot in PARENT_SLOTS:
        key = f"parent_{slot}_"
        name = f.text(key + "name", "Enter the name of a parent or carer the pupil lives with",
                      required=slot == 1, limit=120)
        address = f.text(key + "address", "", required=False, limit=300)
        phone = _phone(f, key + "phone", name or "this parent", required=bool(name))
        if name:
            parents.append(Parent(name, address, phone))
    return tuple(parents)


def _urn(f: Form, name: str, message: str, *, required: bool) -> str:
    urn = f.text(name, message, required=required, limit=8)
    if urn and not _URN.fullmatch(urn):
        f.error(name, "A school URN is 6 digits, like 107999")
    return urn


def _ground_facts(f: Form, ground: str) -> tuple[bool, str]:
    confirmed = f.yes("absence_codes_confirmed")
    if ground == "I" and not confirmed:
        f.error("absence_codes_confirmed", GROUND_I_CONFIRM_FIRST)
    destination = _urn(f, "destination_school_urn",
                       "Enter the URN of the school the pupil is now registered at",
                       required=ground in GROUNDS_NAMING_A_SCHOOL)
    return confirmed, destination


def check_deletion(form: object, *, school: School | SchoolRef, today: date) -> Deletion:
    """A deletion return for `school` (the caller decided the sender may speak for it)."""
    f = Form(form, today)
    pupil = _pupil(f)
    sex = f.choice("sex", SEXES, "Select the pupil's sex")
    line1 = f.text("address_line1", "Enter the first line of the pupil's address")
    town = f.text("town", "", required=False, limit=100)
    postcode = _postcode(f, "postcode")
    parents = _parents(f)
    deleted = f.day("deletion_date", "date the pupil was deleted from the register")
    if deleted and pupil.date_of_birth and deleted <= pupil.date_of_birth:
        f.error("deletion_date", "The deletion date must be after the date of birth")
    ground = f.choice("ground", DELETION_GROUNDS, "Select why the pupil was deleted")
    confirmed, destination = _ground_facts(f, ground)
    start = f.day("destination_school_start", "start date at the new school", required=False,
                  future=True)
    la_code = f.text("destination_la_code", "", required=False, limit=3)
    if la_code and not _LA_CODE.fullmatch(la_code):
        f.error("destination_la_code", "An LA code is 3 digits, like 384")
    new_address = f.text("new_address", "", required=False, limit=300)
    new_parent = f.text("new_parent_name", "", required=False, limit=120)
    new_parent_from = f.day("new_parent_from", "date the pupil lives with them from",
                            required=False, future=True)
    notes = f.text("notes", "", required=False, limit=2000)
    f.check()
    assert deleted is not None
    return Deletion(
        school=school, pupil=pupil, sex=sex, address_line1=line1, town=town,
        postcode=postcode, parents=parents, deletion_date=deleted, ground=ground,
        absence_codes_confirmed=confirmed, new_address=new_address,
        moved_abroad=f.data.get("moved_to") == "abroad", new_parent_name=new_parent,
        new_parent_from=new_parent_from, destination_school_urn=destination,
        destination_school_start=start, destination_la_code=la_code, notes=notes,
    )


def check_new_pupil(form: object, *, school: School | SchoolRef, today: date) -> NewPupil:
    f = Form(form, today)
    pupil = _pupil(f)
    start = f.day("start_date", "date the pupil joined the register", future=True)
    if start and start > today + NEW_PUPIL_START_AHEAD:
        f.error("start_date", "The start date can be at most "
                f"{NEW_PUPIL_START_AHEAD.days} days from today")
    if start and pupil.date_of_birth and start <= pupil.date_of_birth:
        f.error("start_date", "The start date must be after the date of birth")
    postcode = _postcode(f, "postcode")
    f.check()
    assert start is not None
    return NewPupil(school=school, pupil=pupil, start_date=start, postcode=postcode)


def csv_deletion_form(cells: dict[str, str], *, ground_i_confirmed: bool) -> dict[str, str]:
    """One CSV row as the form would send it: one parent, sex as F/M/U, and ground I's
    confirmation given once for the whole file by whoever uploads it."""
    form = dict(cells)
    form["sex"] = CSV_SEXES.get(cells.get("sex", "").strip().upper(), "")
    form["ground"] = cells.get("ground", "").strip().upper()
    form["parent_1_name"] = cells.get("parent_name", "")
    form["parent_1_phone"] = cells.get("parent_phone", "")
    form["absence_codes_confirmed"] = "yes" if ground_i_confirmed else ""
    return form

