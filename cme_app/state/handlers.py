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

from .. import routes
from ..db import session_scope
from ..errors import FieldError, NotAllowed, NotFound, Refusal, ServiceError, ValidationFailed
from ..permissions import REFUSED, Actor, Capability, allows
from ..services.trust import audit
from ..services.trust.auth import home_route

CAPABILITIES_ATTR = "_cme_capabilities"
PUBLIC_ATTR = "_cme_public"


def focus_script(element_id: str, *, block: str | None = "start") -> str:
    """Move focus (and the view) to an element once the answer has rendered. `block=None`
    only focuses it, and the browser scrolls no further than it must to show it."""
    target = json.dumps(element_id)
    if block is None:
        return (f"window.setTimeout(() => {{ const m = document.getElementById({target});"
                " if (m) m.focus(); }, 50)")
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
        self.errors, self.error_list, self.message, self.problem = {}, [], "", ""

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

    def _after_not_found(self, actor: Actor):
        """The record is gone, or not this actor's to see."""
        return self._show_problem(str(NotFound("That record was not found.")))

    def _signed_out(self):
        """Called for a handler when no one is signed in."""
        return rx.redirect(routes.LOGIN)


def _refused(self: PageFeedback, actor: Actor, exc: ServiceError, text: str):
    self.problem = text
    self._after_refusal(actor, exc)
    return self._focus_message()


def _run_service(self: PageFeedback, actor: Actor, work: Callable, *, done, prefix, field_ids,
                 invalid, then, state_name: str, handler_name: str, capabilities):
    try:
        with session_scope() as session:
            result = work(session, actor=actor)
    except ValidationFailed as exc:
        if invalid is not None:
            return _refused(self, actor, exc, invalid)
        return self._show_field_errors(exc.errors, prefix=prefix, field_ids=field_ids)
    except NotFound:
        return self._after_not_found(actor)
    except NotAllowed as exc:
        audit_refusal(actor, state_name, handler_name, capabilities)
        return self._show_problem(str(exc))
    except (Refusal, ServiceError) as exc:
        return _refused(self, actor, exc, str(exc))
    message = done(result) if callable(done) else done
    if message is not None:
        self.message = message
        self.form_key += 1
    self._after_success(actor, result)
    if then is not None:
        return then(self, result)
    return self._focus_message() if message is not None else None


def handler(
    *capabilities: Capability,
    done: str | Callable[[Any], str] | None = None,
    prefix: str = "",
    field_ids: dict[str, str] | None = None,
    touch: bool = True,
    quiet: bool = False,
    refused: str = REFUSED,
    invalid: str | None = None,
    then: Callable[[Any, Any], Any] | None = None,
    signed_out: Callable[..., Any] | None = None,
):
    """Declare a handler's capabilities and run it through the adapter (see the module doc).

    done:       the success message (or a function of the service's result); None shows none.
    prefix:     the form's field-id prefix, for error links; field_ids maps odd fields.
    touch:      False for automatic requests (polling): they don't keep a session alive.
    quiet:      on refusal answer nothing (for automatic requests such as a poll).
    refused:    the words shown when the role lacks the capabilities.
    invalid:    for arguments no form field shows (a page number, a row of a list): the
                service's validation errors shown as this one problem, like a refusal.
    then:       after success, a function of (state, result) whose answer (client events) is
                sent instead of moving focus to the message (e.g. a download, a redirect).
    signed_out: a function of (state, *the handler's arguments) answering when nobody is
                signed in, instead of the state's `_signed_out` hook (e.g. a poll says nothing).
    """
    if not capabilities:
        raise TypeError("a handler needs at least one capability")

    def decorate(fn):
        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            actor = self._actor(touch=touch)
            if actor is None:
                if signed_out is not None:
                    return signed_out(self, *args, **kwargs)
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
                invalid=invalid, then=then, state_name=type(self).__name__,
                handler_name=fn.__name__, capabilities=capabilities,
            )

        setattr(run, CAPABILITIES_ATTR, capabilities)
        return run

    return decorate


def page_load(*capabilities: Capability, fresh: bool = False):
    """The guard for a page's on_load. The body runs with the actor as `self._actor()` has
    just set it; it returns a service call (run in one unit of work, its result ignored
    unless the body handles it), None, or a client event.

    fresh: first put the page's own vars back to their defaults, before the guard, so that
    nothing an earlier visit left in this browser tab's state (perhaps another person's,
    on a shared computer) outlives a refused or signed-out visit."""
    if not capabilities:
        raise TypeError("a page needs at least one capability")

    def decorate(fn):
        @functools.wraps(fn)
        def run(self, *args, **kwargs):
            if fresh:
                self.reset()
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
