"""The one handler adapter every page uses.

Any browser can call any public handler with any arguments, so each one is declared with the
capabilities it needs:

    @rx.event
    @handler(Capability.CASE_TRIAGE, done="Triage saved.", prefix="triage-")
    def save_triage(self, form_data: dict):
        factors = ...                                  # argument cleaning
        return partial(casework.record_triage, reference=self._ref(), factors=factors)

and the adapter does the rest, in this order: guard (a signed-in session whose role has every
capability in cme_app/permissions.py; a refusal is audited here, in one place) -> the body,
which cleans the arguments and returns the service call -> one unit of work -> mapping of
what the service said to the page: success message, GOV.UK error summary with links to the
fields, refusal, not found; focus moves to what changed. The body may also return None or a
client event (nothing to do in the database) instead of a service call.

`page_load` is the same guard for a page's on_load: signed out goes to the sign-in page, a
role without the capability to its own home page.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ClassVar

import reflex as rx
from reflex.event import EventSpec

from .. import routes
from ..db import session_scope
from ..errors import FieldError, NotAllowed, NotFound, Refusal, ServiceError, ValidationFailed
from ..permissions import REFUSED, Actor, Capability, allows
from ..services.trust import audit
from ..services.trust.auth import home_route

CAPABILITIES_ATTR = "_cme_capabilities"
PUBLIC_ATTR = "_cme_public"


def focus_script(element_id: str, *, block: str = "start") -> str:
    """Move focus (and the view) to an element once the answer has rendered."""
    target = json.dumps(element_id)
    return (
        f"window.setTimeout(() => {{ const m = document.getElementById({target});"
        f" if (m) {{ m.focus(); m.scrollIntoView({{block: {json.dumps(block)}}}); }} }}, 50)"
    )


FOCUS_ERROR_SUMMARY = focus_script("error-summary")


def capabilities_of(fn: Callable) -> tuple[Capability, ...] | None:
    """The capabilities a handler was declared with (None: not declared)."""
    fn = getattr(fn, "fn", fn)
    return getattr(fn, CAPABILITIES_ATTR, None)


def is_public(fn: Callable) -> bool:
    """Declared as callable before signing in (the sign-in page's own steps)."""
    return bool(getattr(getattr(fn, "fn", fn), PUBLIC_ATTR, False))


def audit_refusal(actor: Actor, state_name: str, handler_name: str,
                  capabilities: tuple[Capability, ...]) -> None:
    """Record a refused attempt: who tried which handler, needing what."""
    with session_scope() as session:
        audit.record(
            session, actor=actor, action="permission.refused", outcome="refused",
            entity_type="handler", entity_id=f"{state_name}.{handler_name}",
            detail={"capabilities": [str(c) for c in capabilities]},
        )


class PageFeedback(rx.State, mixin=True):
    """What every page shows after an action: a success message, a problem (refusal), a
    GOV.UK error summary, and a key that resets the forms after success.

    A page overrides the `_after_*` hooks to reload its data, and sets `message_id` to the
    element that announces the message."""

    message: str = ""
    problem: str = ""
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    form_key: int = 0

    message_id: ClassVar[str] = "page-message"

    def _clear_feedback(self) -> None:
        # Assign only what is set: every assignment is sent to the browser, even if equal.
        if self.errors or self.error_list:
            self.errors, self.error_list = {}, []
        if self.message or self.problem:
            self.message, self.problem = "", ""

    def _focus_message(self):
        return rx.call_script(focus_script(self.message_id))

    def _show_field_errors(self, errors: list[FieldError], *, prefix: str = "",
                           field_ids: dict[str, str] | None = None):
        """The error summary: one link per field, first error per field shown at it."""
        ids = field_ids or {}
        self.error_list = [[ids.get(e.field, prefix + e.field), e.message] for e in errors]
        self.errors = {field: text for field, text in reversed(self.error_list)}
        return rx.call_script(FOCUS_ERROR_SUMMARY)

    def _show_problem(self, text: str):
        self.problem = text
        return self._focus_message()

    # ----- hooks a page may override ----------------------------------------------------------

    def _after_success(self, actor: Actor, result: Any) -> None:
        """Reload what the page shows after a change."""

    def _after_refusal(self, actor: Actor, exc: ServiceError) -> None:
        """Reload what the page shows after the service refused (it may have changed)."""

    def _on_refusal(self, actor: Actor, exc: ServiceError):
        """The service said no (stale version, a rule not met): say why, in its words."""
        self.problem = str(exc)
        self._after_refusal(actor, exc)
        return self._focus_message()

    def _on_not_found(self, actor: Actor, exc: NotFound):
        return self._after_not_found(actor)

    def _after_not_found(self, actor: Actor):
        """The record is gone, or not this actor's to see."""
        return self._show_problem(str(NotFound("That record was not found.")))

    def _signed_out(self):
        """Called for a handler when no one is signed in."""
        return rx.redirect(routes.LOGIN)


def errors_at(work: Callable, prefix: str, field_ids: dict[str, str] | None = None) -> Callable:
    """For a form whose field ids depend on what was submitted (one form per row, evidence per
    outcome): where this call's field errors link to, instead of the handler's `prefix`."""
    return _ErrorsAt(work, prefix, field_ids or {})


class _ErrorsAt:
    def __init__(self, work: Callable, prefix: str, field_ids: dict[str, str]):
        self.work, self.prefix, self.field_ids = work, prefix, field_ids

    def __call__(self, session, **kwargs):
        return self.work(session, **kwargs)


def _run_service(self: PageFeedback, actor: Actor, work: Callable, *, done, prefix, field_ids,
                 refresh: bool | None, state_name: str, handler_name: str, capabilities):
    if isinstance(work, _ErrorsAt):
        prefix, field_ids = work.prefix, {**(field_ids or {}), **work.field_ids}
    try:
        with session_scope() as session:
            result = work(session, actor=actor)
    except ValidationFailed as exc:
        return self._show_field_errors(exc.errors, prefix=prefix, field_ids=field_ids)
    except NotFound as exc:
        return self._on_not_found(actor, exc)
    except NotAllowed as exc:
        audit_refusal(actor, state_name, handler_name, capabilities)
        return self._show_problem(str(exc))
    except (Refusal, ServiceError) as exc:
        return self._on_refusal(actor, exc)
    if done is None:  # the call updated the page itself; it may answer with a client event
        if refresh is True:
            self._after_success(actor, result)
        return result if _is_event(result) else None
    message = done(result) if callable(done) else done
    self.message = message
    self.form_key += 1
    if refresh is not False:
        self._after_success(actor, result)
    return self._focus_message()


def _is_event(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, EventSpec) for v in value)
    return isinstance(value, EventSpec)


def handler(
    *capabilities: Capability,
    done: str | Callable[[Any], str] | None = None,
    prefix: str = "",
    field_ids: dict[str, str] | None = None,
    touch: bool = True,
    quiet: bool = False,
    refresh: bool | None = None,
    refused: str = REFUSED,
):
    """Declare a handler's capabilities and run it through the adapter (see the module doc).

    done:      the success message (or a function of the service's result); None shows none.
    prefix:    the form's field-id prefix, for error links; field_ids maps odd fields.
    touch:     False for automatic requests (polling): they don't keep a session alive.
    quiet:     on refusal answer nothing (for automatic requests such as a poll).
    refresh:   whether `_after_success` reloads the page afterwards: by default after a change
               with a `done` message, not after a call with done=None (it updated the page
               itself; a second read would also be audited twice).
    refused:   what a role without the capability is told.
    With done=None the call's own result is the answer (a client event, or nothing).
    """
    if not capabilities:
        raise TypeError("a handler needs at least one capability")

    def decorate(fn):
        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            actor = self._actor(touch=touch)
            if actor is None:
                return self._signed_out()
            if not allows(actor.role, *capabilities):
                audit_refusal(actor, type(self).__name__, fn.__name__, capabilities)
                return None if quiet else self._show_problem(refused)
            if not quiet:
                self._clear_feedback()
            work = fn(self, *args, **kwargs)
            if not callable(work):
                return work
            return _run_service(
                self, actor, work, done=done, prefix=prefix, field_ids=field_ids,
                refresh=refresh, state_name=type(self).__name__, handler_name=fn.__name__,
                capabilities=capabilities,
            )

        setattr(run, CAPABILITIES_ATTR, capabilities)
        return run

    return decorate


def page_load(*capabilities: Capability):
    """The guard for a page's on_load. The body runs with the actor as `self._actor()` has
    just set it; it returns a service call (run in one unit of work, its result ignored
    unless the body handles it), None, or a client event."""
    if not capabilities:
        raise TypeError("a page needs at least one capability")

    def decorate(fn):
        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            actor = self._actor()
            if actor is None:
                self._set_unread(0)
                return rx.redirect(routes.LOGIN)
            if not allows(actor.role, *capabilities):
                audit_refusal(actor, type(self).__name__, fn.__name__, capabilities)
                return rx.redirect(home_route(actor.role))
            self._refresh_unread(actor)
            work = fn(self, *args, **kwargs)
            if not callable(work):
                return work
            with session_scope() as session:
                return work(session, actor=actor)

        setattr(run, CAPABILITIES_ATTR, capabilities)
        return run

    return decorate


def public(fn):
    """Declare a handler callable before signing in (the sign-in steps). It does its own
    checks; the guard test holds it to answering nothing private."""
    setattr(fn, PUBLIC_ATTR, True)
    return fn
