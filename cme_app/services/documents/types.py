"""What the pages show of a case's documents (plain types, so the case file can hold them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentRow:
    """One document as the case page and the school's referral page list it."""

    public_id: str
    title: str
    kind: str
    version: int
    created_on: str
    author: str
    recipient: str
    url: str


@dataclass(frozen=True)
class DocumentKindChoice:
    code: str
    title: str
    date_label: str  # "" when the kind asks for no date
    date_required: bool


@dataclass(frozen=True)
class DocumentsPart:
    """The case page's Documents section."""

    rows: tuple[DocumentRow, ...] = ()
    kinds: tuple[DocumentKindChoice, ...] = ()
    kind_choices: tuple[tuple[str, str], ...] = ()  # [code, title] for the "Create" form
    can_create: bool = False
