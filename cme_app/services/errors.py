"""Errors the services raise; the UI turns them into plain-words messages."""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """Base class: the message is safe to show to the user."""


class NotAllowed(ServiceError):
    """The actor may not do this (shown as a generic refusal)."""


class NotFound(ServiceError):
    """No such record *for this actor*; also used to hide others' records."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(ServiceError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
