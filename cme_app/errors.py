"""Errors the services raise; the UI turns them into plain-words messages."""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """Base class: the message is safe to show to the user."""


class Refusal(ServiceError):
    """A refused request. Services raise it before changing anything except the audit log,
    so the unit of work commits (keeping the record of the attempt) instead of rolling back."""


class NotAllowed(Refusal):
    """The actor may not do this (shown as a generic refusal)."""


class NotFound(Refusal):
    """No such record *for this actor*; also used to hide others' records."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(ServiceError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
