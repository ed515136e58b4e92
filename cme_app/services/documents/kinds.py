"""The notices and letters the team can make on a case, one entry each: its title, who it is
for, its template and the facts it reads (facts.py), and the date it asks for, if any."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlmodel import Session

from ...models import Case
from . import facts


class Recipient(StrEnum):
    SCHOOL = "school"
    OTHER_LA = "other_la"
    FAMILY = "family"
    ABROAD = "abroad"


RECIPIENT_LABELS = {
    Recipient.SCHOOL: "The referring school",
    Recipient.OTHER_LA: "Another local authority",
    Recipient.FAMILY: "The family",
    Recipient.ABROAD: "A school or agency abroad",
}

Facts = Callable[[Session, Case, date, "date | None"], dict]


@dataclass(frozen=True)
class DateAsked:
    """The one date a document asks for when it is made."""

    label: str
    required: bool
    min_days: int | None = 0  # at least this many days after today (None: any date)


@dataclass(frozen=True)
class DocumentKind:
    code: str
    title: str
    recipient: Recipient
    template: str
    facts: Facts
    date: DateAsked | None = None


# s.437(1) Education Act 1996: the parent is given at least 15 days to answer (WTISA 2024).
S437_MIN_DAYS = 15

_KINDS = (
    DocumentKind("exhausted_notice", "Joint reasonable enquiries exhausted", Recipient.SCHOOL,
                 "exhausted_notice.html", facts.exhausted_notice,
                 # Checked by the statutory rules: never backdated, never before the ground.
                 DateAsked("Off-roll date agreed with the school", required=False,
                           min_days=None)),
    DocumentKind("outcome_letter", "Outcome of your referral", Recipient.SCHOOL,
                 "outcome_letter.html", facts.outcome_letter),
    DocumentKind("la_notification", "Notification to another local authority",
                 Recipient.OTHER_LA, "la_notification.html", facts.la_notification),
    DocumentKind("overseas_request", "Request to verify a child's school place abroad",
                 Recipient.ABROAD, "overseas_request.html", facts.overseas_request,
                 DateAsked("Reply requested by", required=False)),
    DocumentKind("calling_card", "Calling card", Recipient.FAMILY, "calling_card.html",
                 facts.calling_card, DateAsked("Date of the call", required=False,
                                               min_days=None)),
    DocumentKind("last_address_letter", "Letter to the last known address", Recipient.FAMILY,
                 "last_address_letter.html", facts.last_address_letter,
                 DateAsked("Contact us by", required=False)),
    DocumentKind("s437_notice", "Notice under section 437(1) of the Education Act 1996",
                 Recipient.FAMILY, "s437_notice.html", facts.s437_notice,
                 DateAsked("The parent must respond by", required=True,
                           min_days=S437_MIN_DAYS)),
)
KINDS: dict[str, DocumentKind] = {k.code: k for k in _KINDS}
