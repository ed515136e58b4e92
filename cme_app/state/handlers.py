"""The one handler adapter every page uses.

Any browser can call any public handler with any arguments, so each one is declared with the
capabilities it needs:

    @rx.event
    @handler(Capability.CASE_TRIAGE, done="Triage saved.", prefix="triage-")
    def save_triage(self, form_data: dict):
        factors = ...                                  # argument cleaning
        return partial(triage.record_triage, reference=self._ref(), factors=factors)

and the adapter does the rest, in this order: guard (a signed-in session whose role has every
capability in cme_app/permissions.py; a refusal is audited here, in one place) -> the body,
which cleans the arguments and returns the service call -> one unit of work -> mapping of
what the service said to the page: success message, GOV.UK error summary with links to the
fields, refusal, not found; focus moves to what changed. The body may also return None or a
client event (nothing to do in the database) instead of a service call.

A background event (`@rx.event(background=True)` over an `async def`) goes through the same
steps: the guard and the answer run under the tab's state lock, the body and the unit of work
outside it (the unit of work in a worker thread), so a long export holds neither the lock nor
the event loop.

A page with a second panel that answers in its own place (the desk's lone-working alerts on
the board) declares that panel's handlers with `area=FeedbackArea(...)`: the same answers, in
the panel's own vars.

`page_load` is the same guard for a page's on_load: signed out goes to the sign-in page, a
role without the capability to its own home page. Before the guard it calls the page's
`_reset_page` (or, with `fresh=True`, puts every var back to its default), so nothing an
earlier visit (perhaps another person's, on a shared computer) left survives a refused load.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx
from reflex.event import EventSpec
from sqlalchemy.exc import SQLAlchemyError

from ..dates import join_date_boxes
from ..db import session_scope
from ..errors import FieldError, NotAllowed, NotFound, ServiceError, ValidationFailed
from ..permissions import REFUSED, Actor, Capability, allows
from ..services.trust import audit
from ..services.trust.auth import home_route

CAPABILITIES_ATTR = "_cme_capabilities"
PUBLIC_ATTR = "_cme_public"


def focus_script(element_id: str, *fallbacks: str, block: str | None = "start") -> str:
    """Move focus (and the view) to an element once the answer has rendered; to the first of
    `fallbacks` that exists if it is gone (an item that left the list it was in).
    `block=None` only focuses it: the browser scrolls no further than it must to show it."""
    found = " || ".join(f"document.getElementById({json.dumps(i)})"
                        for i in (element_id, *fallbacks))
    scroll = "" if block is None else f" m.scrollIntoView({{block: {json.dumps(block)}}});"
    return f"window.setTimeout(() => {{ const m = {found}; if (m) {{ m.focus();{scroll} }} }}, 50)"


FOCUS_ERROR_SUMMARY = focus_script("error-summary")


def error_summary(errors: list[FieldError], *, prefix: str = "",
                  field_ids: dict[str, str] | None = None):
    """The GOV.UK error summary's rows ([field id, message], one per error, linking to the
    field) and the first message for each field, shown at the field."""
    ids = field_ids or {}
    rows = [[ids.get(e.field, prefix + e.field), e.message] for e in errors]
    return rows, {field: text for field, text in reversed(rows)}


def capabilities_of(fn: Callable) -> tuple[Capability, ...] | None:
    """The capabilities a handler was declared with (None: not declared)."""
    fn = getattr(fn, "fn", fn)
    return getattr(fn, CAPABILITIES_ATTR, None)


def is_public(fn: Callable) -> bool:
    """Declared as callable before signing in (the sign-in page's own steps)."""
    return bool(getattr(getattr(fn, "fn", fn), PUBLIC_ATTR, False))


def public(fn):
    """Declare a handler callable before signing in (the sign-in steps). It does its own
    checks; the guard test holds it to answering nothing private."""
    setattr(fn, PUBLIC_ATTR, True)
    return fn


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

    A page sets `message_id` to the element that announces the message (and
    `refused_message` to say a role refusal its own way), and overrides the hooks below."""

    message: str = ""
    problem: str = ""
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    form_key: int = 0
    _loaded_address: str = ""  # the page last loaded in this tab (see _load_guard)

    message_id: ClassVar[str] = "page-message"
    refused_message: ClassVar[str] = REFUSED

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
        self.error_list, self.errors = error_summary(errors, prefix=prefix, field_ids=field_ids)
        return rx.call_script(FOCUS_ERROR_SUMMARY)

    def _show_problem(self, text: str):
        """Every problem goes through here: a refusal by the guard or by the service."""
        self.problem = text
        return self._focus_message()

    def _show_done(self, message: str) -> None:
        """Say it worked, and redraw the forms empty."""
        self.message = message
        self.form_key += 1

    # ----- hooks a page may override ----------------------------------------------------------

    def _reset_page(self) -> None:
        """Called by `page_load` before the guard: forget what an earlier visit showed."""

    def _after_success(self, actor: Actor, result: Any) -> None:
        """Reload what the page shows after a change."""

    def _after_refusal(self, actor: Actor, exc: ServiceError) -> None:
        """Reload what the page shows after the service refused (it may have changed)."""

    def _on_refusal(self, actor: Actor, exc: ServiceError):
        """The service said no (stale version, a rule not met): say why, in its words."""
        self._after_refusal(actor, exc)
        return self._show_problem(str(exc))

    def _on_not_found(self, actor: Actor, exc: NotFound):
        return self._after_not_found(actor)

    def _after_not_found(self, actor: Actor):
        """The record is gone, or not this actor's to see."""
        return self._show_problem(str(NotFound("That record was not found.")))

    def _after_database_error(self, actor: Actor, exc: SQLAlchemyError):
        """The unit of work failed in the database (a dropped connection, say), so nothing
        can be confirmed. By default the error goes on up; a page that must say so overrides
        this."""
        raise exc

    def _signed_out(self):
        """Called for a handler when no one is signed in: the tab is wiped and the sign-in
        page loads with a new tab token (AuthState._leave)."""
        return self._leave()


@dataclass(frozen=True)
class FeedbackArea:
    """A second place on a page where handlers answer: a panel with its own form and
    messages. The names of its vars, the element that announces its message, and the name
    of the page's method `(actor) -> None` that reloads the panel after an answer (success,
    refusal or not found; not after field errors, so nothing typed is lost)."""

    message: str
    problem: str
    errors: str
    error_list: str
    message_id: str
    reload: str


class _InArea:
    """The page answering in one of its areas: PageFeedback's answers, in the area's vars."""

    def __init__(self, page: rx.State, area: FeedbackArea):
        self.page, self.area = page, area

    def __getattr__(self, name: str):  # anything an area doesn't answer itself: the page's
        return getattr(self.page, name)

    def _clear_feedback(self) -> None:
        a = self.area
        for name, empty in ((a.errors, {}), (a.error_list, []), (a.message, ""), (a.problem, "")):
            if getattr(self.page, name):  # an assignment is sent to the browser, even if equal
                setattr(self.page, name, empty)

    def _focus_message(self):
        return rx.call_script(focus_script(self.area.message_id))

    def _show_field_errors(self, errors: list[FieldError], *, prefix: str = "",
                           field_ids: dict[str, str] | None = None):
        rows, by_field = error_summary(errors, prefix=prefix, field_ids=field_ids)
        setattr(self.page, self.area.error_list, rows)
        setattr(self.page, self.area.errors, by_field)
        return rx.call_script(FOCUS_ERROR_SUMMARY)

    def _show_problem(self, text: str):
        setattr(self.page, self.area.problem, text)
        return self._focus_message()

    def _show_done(self, message: str) -> None:
        setattr(self.page, self.area.message, message)

    def _after_success(self, actor: Actor, result: Any) -> None:
        getattr(self.page, self.area.reload)(actor)

    def _on_refusal(self, actor: Actor, exc: ServiceError):
        getattr(self.page, self.area.reload)(actor)
        return self._show_problem(str(exc))

    def _on_not_found(self, actor: Actor, exc: NotFound):
        return self._on_refusal(actor, exc)


def errors_at(work: Callable, prefix: str, field_ids: dict[str, str] | None = None) -> Callable:
    """For a form whose field ids depend on what was submitted (one form per row, evidence per
    outcome): where this call's field errors link to, instead of the handler's `prefix`."""
    return _ErrorsAt(work, prefix, field_ids or {})


class _ErrorsAt:
    def __init__(self, work: Callable, prefix: str, field_ids: dict[str, str]):
        self.work, self.prefix, self.field_ids = work, prefix, field_ids

    def __call__(self, session, **kwargs):
        return self.work(session, **kwargs)


# ---------------------------------------------------------------------------------------------
# The steps


@dataclass(frozen=True)
class _Declared:
    """What a handler was declared with."""

    name: str
    capabilities: tuple[Capability, ...]
    done: str | Callable[[Any], str | None] | None
    then: Callable[[Any, Any], Any] | None
    prefix: str
    field_ids: dict[str, str] | None
    touch: bool
    quiet: bool
    refresh: bool | None
    refused: str | None
    invalid: str | None
    signed_out: Callable[..., Any] | None
    area: FeedbackArea | None


def _ui(self, declared: _Declared):
    return self if declared.area is None else _InArea(self, declared.area)


def _guard(self, declared: _Declared, args, kwargs) -> tuple[Actor | None, Any]:
    """(actor, None) when the caller may go on; otherwise (None, the answer to send)."""
    actor = self._actor(touch=declared.touch)
    if actor is None:
        if declared.signed_out is not None:
            return None, declared.signed_out(self, *args, **kwargs)
        return None, self._signed_out()
    ui = _ui(self, declared)
    if not allows(actor.role, *declared.capabilities):
        audit_refusal(actor, type(self).__name__, declared.name, declared.capabilities)
        if declared.quiet:
            return None, None
        return None, ui._show_problem(declared.refused or self.refused_message)
    if not declared.quiet:
        ui._clear_feedback()
    return actor, None


def _unit_of_work(work: Callable, actor: Actor) -> tuple[Any, Exception | None]:
    """Run the service call in one unit of work: (its result, None) or (None, what failed)."""
    try:
        with session_scope() as session:
            return work(session, actor=actor), None
    except (ServiceError, SQLAlchemyError) as exc:
        return None, exc


def _answer_failure(self, actor: Actor, work: Callable, exc: Exception, declared: _Declared):
    ui = _ui(self, declared)
    prefix, field_ids = declared.prefix, declared.field_ids
    if isinstance(work, _ErrorsAt):
        prefix, field_ids = work.prefix, {**(field_ids or {}), **work.field_ids}
    if isinstance(exc, ValidationFailed):
        if declared.invalid is not None:  # arguments no field shows: one problem instead
            return ui._on_refusal(actor, ServiceError(declared.invalid))
        return ui._show_field_errors(exc.errors, prefix=prefix, field_ids=field_ids)
    if isinstance(exc, NotFound):
        return ui._on_not_found(actor, exc)
    if isinstance(exc, NotAllowed):
        audit_refusal(actor, type(self).__name__, declared.name, declared.capabilities)
        return ui._show_problem(str(exc))
    if isinstance(exc, ServiceError):  # a Refusal, or a rule the service would not break
        return ui._on_refusal(actor, exc)
    return self._after_database_error(actor, exc)


def _answer(self, actor: Actor, work: Callable, outcome: tuple[Any, Exception | None],
            declared: _Declared):
    """What the page shows (and the browser is sent) for what the service said."""
    result, exc = outcome
    if exc is not None:
        return _answer_failure(self, actor, work, exc, declared)
    ui = _ui(self, declared)
    done = declared.done
    message = done(result) if callable(done) else done
    if message is None:  # the call updated the page itself; it may answer with a client event
        if declared.refresh is True:
            ui._after_success(actor, result)
        if declared.then is not None:
            return declared.then(self, result)
        return result if _is_event(result) else None
    ui._show_done(message)
    if declared.refresh is not False:
        ui._after_success(actor, result)
    if declared.then is not None:
        return declared.then(self, result)
    return ui._focus_message()


def _is_event(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, EventSpec) for v in value)
    return isinstance(value, EventSpec)


def _with_dates_joined(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """A form's GOV.UK date inputs arrive as three boxes; every handler and service reads one
    date (`dates.join_date_boxes`). Reflex passes a browser's arguments by name."""
    def joined(value):
        return join_date_boxes(value) if isinstance(value, dict) else value

    return tuple(joined(a) for a in args), {k: joined(v) for k, v in kwargs.items()}


def _steps(self, fn, declared: _Declared, args, kwargs):
    args, kwargs = _with_dates_joined(args, kwargs)
    actor, answer = _guard(self, declared, args, kwargs)
    if actor is None:
        return answer
    work = fn(self, *args, **kwargs)
    if not callable(work):
        return work
    return _answer(self, actor, work, _unit_of_work(work, actor), declared)


def _run(fn, declared: _Declared):
    @functools.wraps(fn)
    async def run(self, *args, **kwargs):
        # Every step (the session check, the body, the unit of work, the answer) runs in a
        # worker thread, so the worker's one event loop keeps serving other tabs meanwhile.
        # The tab's state lock is held for the whole event, so nothing else touches this
        # state while the thread does.
        return await asyncio.to_thread(_steps, self, fn, declared, args, kwargs)

    return run


def _run_in_background(fn, declared: _Declared):
    """The same steps for a background event: only the guard and the answer hold the tab's
    state lock; the body runs without it and the unit of work in a worker thread."""

    @functools.wraps(fn)
    async def run(self, *args, **kwargs):
        args, kwargs = _with_dates_joined(args, kwargs)
        async with self:
            actor, answer = _guard(self, declared, args, kwargs)
        if actor is None:
            return answer
        work = await fn(self, *args, **kwargs)
        if not callable(work):
            return work
        outcome = await asyncio.to_thread(_unit_of_work, work, actor)
        async with self:
            return _answer(self, actor, work, outcome, declared)

    return run


def handler(
    *capabilities: Capability,
    done: str | Callable[[Any], str | None] | None = None,
    then: Callable[[Any, Any], Any] | None = None,
    prefix: str = "",
    field_ids: dict[str, str] | None = None,
    touch: bool = True,
    quiet: bool = False,
    refresh: bool | None = None,
    refused: str | None = None,
    invalid: str | None = None,
    signed_out: Callable[..., Any] | None = None,
    area: FeedbackArea | None = None,
):
    """Declare a handler's capabilities and run it through the adapter (see the module doc).

    done:       the success message (or a function of the service's result); None shows none,
                and then the call's own result is the answer (a client event, or nothing).
    then:       after success, a function of (state, result) whose answer (a download, a
                redirect, a scroll) is sent instead of moving focus to the message.
    prefix:     the form's field-id prefix, for error links; field_ids maps odd fields.
    touch:      False for automatic requests (polling): they don't keep a session alive.
    quiet:      on refusal answer nothing, and leave the page's feedback as it is: for
                automatic requests such as a poll, and for small steps inside a form.
    refresh:    whether `_after_success` reloads the page afterwards: by default after a change
                with a `done` message, not after a call without one (it updated the page
                itself; a second read would be audited twice).
    refused:    what a role without the capability is told (default: the page's
                `refused_message`).
    invalid:    for arguments no form field shows (a page number, a row of a list): the
                service's validation errors shown as this one problem, like a refusal.
    signed_out: a function of (state, *the handler's arguments) answering when nobody is
                signed in, instead of the state's `_signed_out` hook.
    area:       answer in this panel of the page instead of the page's own feedback.
    An `async def` handler (a background event) is run by the same steps, off the state lock.
    """
    if not capabilities:
        raise TypeError("a handler needs at least one capability")

    def decorate(fn):
        declared = _Declared(
            name=fn.__name__, capabilities=capabilities, done=done, then=then, prefix=prefix,
            field_ids=field_ids, touch=touch, quiet=quiet, refresh=refresh, refused=refused,
            invalid=invalid, signed_out=signed_out, area=area,
        )
        background = inspect.iscoroutinefunction(fn)
        run = _run_in_background(fn, declared) if background else _run(fn, declared)
        setattr(run, CAPABILITIES_ATTR, capabilities)
        return run

    return decorate


def page_load(*capabilities: Capability, fresh: bool = False):
    """The guard for a page's on_load. The body runs with the actor as `self._actor()` has
    just set it; it returns a service call (run in one unit of work, its result ignored
    unless it is a client event), None, or a client event. A NotFound from the service call
    is answered by the page's `_after_not_found`.

    fresh: first put the page's own vars back to their defaults (otherwise the page's
    `_reset_page` decides what to forget)."""
    if not capabilities:
        raise TypeError("a page needs at least one capability")

    def steps(self, fn, args, kwargs):
        actor, answer = _load_guard(self, fn.__name__, capabilities, fresh)
        if actor is None:
            return answer
        work = fn(self, *args, **kwargs)
        return _load_work(self, actor, work) if callable(work) else work

    def decorate(fn):
        @functools.wraps(fn)
        async def run(self, *args, **kwargs):
            # Off the event loop, as for every handler (see _run).
            return await asyncio.to_thread(steps, self, fn, args, kwargs)

        setattr(run, CAPABILITIES_ATTR, capabilities)
        return run

    return decorate


def _load_guard(self, name: str, capabilities: tuple[Capability, ...], fresh: bool):
    """(actor, None) for a visit that may go on; otherwise (None, where to send them)."""
    feedback = isinstance(self, PageFeedback)
    if feedback:
        # The page on screen loaded again (Reflex hydrates afresh after a reconnect): its forms
        # keep their key, or React would redraw them and lose what was typed meanwhile.
        address, key = str(self.router.url), self.form_key
        again = address == self._loaded_address
    if fresh:
        self.reset()
    elif feedback:
        self._reset_page()
    if feedback:
        self._loaded_address = address
        if again:
            self.form_key = key
    actor = self._actor()
    if actor is None:  # signed out, idle or expired: nothing of the tab is kept
        return None, self._leave()
    if not allows(actor.role, *capabilities):
        audit_refusal(actor, type(self).__name__, name, capabilities)
        return None, rx.redirect(home_route(actor.role))
    self._refresh_unread(actor)
    return actor, None


def _load_work(self, actor: Actor, work: Callable):
    try:
        with session_scope() as session:
            result = work(session, actor=actor)
    except NotFound:
        if isinstance(self, PageFeedback):
            return self._after_not_found(actor)
        raise
    return result if _is_event(result) else None
