"""Reading and checking submitted forms, shared by the case page's records and the phone's
visit log. Every error is collected, in form order, before anything is stored."""

from __future__ import annotations

from datetime import date

from ..errors import FieldError, ValidationFailed
from .intake.referral_form import parse_date

YES_NO = {"yes": "Yes", "no": "No"}


class Form:
    """One submitted form (or one part of a JSON document). `prefix` names where the part
    sits in the document, so errors point at e.g. `record.outcome`."""

    def __init__(self, form: object, today: date, *, prefix: str = ""):
        self.data = form if isinstance(form, dict) else {}
        self.today = today
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.prefix + name, message))

    def text(self, name: str, message: str, *, required: bool = True, limit: int = 200) -> str:
        value = str(self.data.get(name) or "").strip()
        if required and not value:
            self.error(name, message)
        if len(value) > limit:
            self.error(name, f"Use {limit} characters or fewer")
        return value[:limit]

    def choice(self, name: str, choices: dict[str, str], message: str) -> str:
        value = str(self.data.get(name) or "")
        if value not in choices:
            self.error(name, message)
        return value

    def day(self, name: str, label: str, *, required: bool = True, future: bool = False):
        raw = str(self.data.get(name) or "").strip()
        value = parse_date(raw)
        if not raw:
            if required:
                self.error(name, f"Enter the {label}")
            return None
        if value is None:
            self.error(name, f"The {label} must be a real date")
        elif not future and value > self.today:
            self.error(name, f"The {label} must be today or in the past")
        return value

    def yes(self, name: str) -> bool:
        return str(self.data.get(name) or "") in ("yes", "on", "true", "True")

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
