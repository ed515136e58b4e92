"""What a submitted referral form is stored as: the child, the addresses, the people, the
enquiries the school made, its concerns and the DSL's appraisal.

The form itself is kept whole on the referral (`form_data`); these rows are what the CME team
works from. A resubmission replaces them all (the form holds everything the school wrote).
"""

from __future__ import annotations

from sqlmodel import Session, select

from ...domain import AddressKind
from ...models import Address, Child, DslAppraisal, Referral, ReferralConcern, ReferralEnquiry
from ...models import Person as PersonRow
from ...models.base import allocate_ids
from . import referral_form as rf


def child_from(data: dict[str, str]) -> Child:
    return Child(
        first_name=data["first_name"],
        middle_names=data.get("middle_names") or None,
        last_name=data["last_name"],
        known_as=data.get("known_as") or None,
        date_of_birth=rf.parse_date(data["date_of_birth"]),
        sex=data["sex"],
        upn=rf.normalise_upn(data.get("upn", "")) or None,
        first_language=data.get("first_language") or None,
        interpreter_needed=rf.is_checked(data.get("interpreter_needed")),
        sen_status=data["sen_status"],
        looked_after=data["looked_after"],
        cp_plan=data["cp_plan"],
        child_in_need=data["child_in_need"],
        traveller_family=rf.is_checked(data.get("traveller_family")),
    )


def write(session: Session, data: dict[str, str], child: Child, referral: Referral) -> None:
    """Every row the form makes, for this child and referral. Where the form makes several
    rows of a kind (the enquiries: eight), their ids are taken first, so they go in with one
    executemany rather than one INSERT each (issue 19)."""
    groups = [_addresses(data, child, referral), _people(data, child, referral),
              _enquiries(data, referral), _concerns(data, referral)]
    for rows in groups:
        if len(rows) > 1:
            ids = allocate_ids(session, type(rows[0]).__tablename__, len(rows))
            for row, row_id in zip(rows, ids, strict=True):
                row.id = row_id
    session.add_all([*(row for rows in groups for row in rows), _appraisal(data, referral)])


def clear(session: Session, referral: Referral) -> None:
    """Remove what the school wrote last time, before a resubmission writes it again."""
    for model in (Address, PersonRow, ReferralEnquiry, ReferralConcern, DslAppraisal):
        for row in session.exec(select(model).where(model.referral_id == referral.id)).all():
            session.delete(row)
    session.flush()


def _addresses(data: dict[str, str], child: Child, referral: Referral) -> list[Address]:
    common = {"child_id": child.id, "referral_id": referral.id}
    home = Address(
        **common,
        kind=AddressKind.LAST_KNOWN,
        line1=data["home_line1"],
        line2=data.get("home_line2") or None,
        town=data.get("home_town") or None,
        postcode=rf.normalise_postcode(data["home_postcode"]),
        source="school",
    )
    others = [
        Address(
            **common,
            kind=row["kind"],
            line1=row["line1"],
            town=row["town"] or None,
            postcode=rf.normalise_postcode(row["postcode"]) or None,
            country=row["country"] or "United Kingdom",
            source=row["source"] if row["source"] in rf.ADDRESS_SOURCE_CHOICES else "school",
        )
        for _, row in rf.rows(data, "address")
    ]
    return [home, *others]


def _people(data: dict[str, str], child: Child, referral: Referral) -> list[PersonRow]:
    return [
        PersonRow(
            child_id=child.id,
            referral_id=referral.id,
            kind=row["kind"],
            full_name=row["full_name"],
            relationship_to_child=row["relationship"],
            phone=row["phone"] or None,
            email=row["email"] or None,
            lives_with_child=rf.is_checked(row["lives_with_child"]),
            parental_responsibility=rf.is_checked(row["parental_responsibility"]),
            is_emergency_contact=rf.is_checked(row["emergency_contact"]),
            school_name=row["school_name"] or None,
            date_of_birth=rf.parse_date(row["date_of_birth"]),
        )
        for _, row in rf.rows(data, "person")
    ]


def _enquiries(data: dict[str, str], referral: Referral) -> list[ReferralEnquiry]:
    """The enquiries the school logged, then a row for each check it says was not possible."""
    logged = [
        ReferralEnquiry(
            referral_id=referral.id,
            kind=row["kind"],
            made_on=rf.parse_date(row["made_on"]),
            time_of_day=row["time_of_day"] if row["time_of_day"] in ("AM", "PM") else None,
            contacted=row["contacted"],
            method=row["method"],
            result=row["result"],
        )
        for _, row in rf.rows(data, "enquiry")
    ]
    not_possible = [
        ReferralEnquiry(referral_id=referral.id, kind=kind.code, not_possible_reason=reason)
        for kind in rf.ENQUIRY_KINDS
        if (reason := data.get(f"reason-{kind.code}"))
    ]
    return logged + not_possible


def _concerns(data: dict[str, str], referral: Referral) -> list[ReferralConcern]:
    return [
        ReferralConcern(referral_id=referral.id, concern=code)
        for code in rf.CONCERNS
        if rf.is_checked(data.get(f"concern-{code}"))
    ]


def _appraisal(data: dict[str, str], referral: Referral) -> DslAppraisal:
    return DslAppraisal(
        referral_id=referral.id,
        dsl_name=data["dsl_name"],
        known_to_csc=data["known_to_csc"],
        cp_plan=data["cp_plan"],
        child_in_need=data["child_in_need"],
        looked_after=data["looked_after"],
        significant_harm=data["significant_harm"],
        mash_referred_on=rf.parse_date(data.get("mash_referred_on")),
        mash_reference=data.get("mash_reference") or None,
        **_told(data, "social_worker", rf.open_to_social_care(data)),
        **_told(data, "virtual_school",
                rf.open_to_social_care(data) and data["looked_after"] == "yes"),
        appraisal=data["dsl_appraisal"],
    )


def _told(data: dict[str, str], who: str, asked: bool) -> dict:
    """Whether (and when) the social worker or virtual school was told, where the form asked."""
    told = data.get(f"{who}_told") if asked else None
    return {f"{who}_told": told or None,
            f"{who}_told_on": rf.parse_date(data.get(f"{who}_told_on")) if told == "yes"
            else None}


# Which column each free-text field of the form is stored in (the rest are choices, dates
# and codes, checked by rf.validate). A row field is named by its group and field.
_STORED_IN = {
    "first_name": (Child, "first_name"), "middle_names": (Child, "middle_names"),
    "last_name": (Child, "last_name"), "known_as": (Child, "known_as"),
    "first_language": (Child, "first_language"),
    "referrer_name": (Referral, "referrer_name"),
    "referrer_job_title": (Referral, "referrer_job_title"),
    "referrer_phone": (Referral, "referrer_phone"), "referrer_email": (Referral, "referrer_email"),
    "absence_codes": (Referral, "absence_codes"),
    "believed_destination": (Referral, "believed_destination"),
    "concerns_narrative": (Referral, "concerns_narrative"),
    "home_line1": (Address, "line1"), "home_line2": (Address, "line2"),
    "home_town": (Address, "town"),
    "dsl_name": (DslAppraisal, "dsl_name"), "mash_reference": (DslAppraisal, "mash_reference"),
    "dsl_appraisal": (DslAppraisal, "appraisal"),
    "address-line1": (Address, "line1"), "address-town": (Address, "town"),
    "address-country": (Address, "country"),
    "person-full_name": (PersonRow, "full_name"),
    "person-relationship": (PersonRow, "relationship_to_child"),
    "person-phone": (PersonRow, "phone"), "person-email": (PersonRow, "email"),
    "person-school_name": (PersonRow, "school_name"),
    "enquiry-contacted": (ReferralEnquiry, "contacted"),
    "enquiry-result": (ReferralEnquiry, "result"),
    **{f"reason-{k.code}": (ReferralEnquiry, "not_possible_reason") for k in rf.ENQUIRY_KINDS},
}


def _length_of(model, column: str) -> int | None:
    return getattr(model.__table__.c[column].type, "length", None)


# The most each free-text field may hold: what its column stores (checked on SQLite too, where
# the column would not refuse it; on PostgreSQL a longer value failed the whole submit).
MAX_LENGTHS: dict[str, int] = {
    name: length for name, (model, column) in _STORED_IN.items()
    if (length := _length_of(model, column)) is not None
}


def length_errors(data: dict[str, str]) -> list[rf.FieldError]:
    """A field error for each answer longer than where it is stored."""
    errors = []
    for name, value in data.items():
        m = rf.ROW_KEY.match(name)
        key = f"{m.group(1)}-{m.group(3)}" if m else name
        limit = MAX_LENGTHS.get(key)
        if limit is not None and len(value) > limit:
            errors.append(rf.FieldError(
                name, f"Shorten this answer to {limit:,} characters or fewer "
                f"(it has {len(value):,})"))
    return errors
