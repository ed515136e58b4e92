"""The referral form's draft as the school types: the pieces the form page adds for it.

assets/referral_autosave.js sends each field as it changes through the hidden autosave form
(one field an event, so no event comes near the socket's size limit), and a referral too long
to send in one event through the hidden "submit the saved draft" button. What a form sends
after its session timed out is kept in the school's draft, and signing in again leads back
to it (`/login?next=...`).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import reflex as rx

from ... import routes
from ...services.intake import referral_form as rf
from ...settings import get_settings

TIMED_OUT = (
    "You were signed out because you had not used the service for a while. We saved your "
    "referral as a draft, with everything you had typed. Check it, then submit it."
)
TOO_LONG = (
    "Your answers could not be saved. Nothing you typed is lost: it is still on this page. "
    "Press Save and continue again."
)
AUTOSAVE_FORM = "referral-autosave"
TIMED_OUT_ID = "timed-out-notice"
SUBMIT_SAVED = "submit-saved-draft"
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_FIELD_NAME = re.compile(r"[a-z0-9_\-]{1,60}")
MAX_FIELDS = 1000  # more than the form has (its rows are capped too)


def public_id_or_empty(value: object) -> str:
    """A draft id as the form sends it back (the page's own copy may be lost with its state):
    well formed, or nothing. Whose it is the service checks."""
    return value if isinstance(value, str) and _PUBLIC_ID.fullmatch(value) else ""


def sent_fields(form_data: object, max_chars: int) -> dict[str, str]:
    """The fields the autosave form carries (a JSON object of name: value, at most
    `max_chars` long), as {name: value}; {} if malformed. The service keeps known names only."""
    raw = form_data.get("fields") if isinstance(form_data, dict) else None
    if not isinstance(raw, str) or not 2 <= len(raw) <= max_chars:
        return {}
    try:
        fields = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested too deep for the parser
        return {}
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        return {}
    return {
        k: v[: rf.MAX_VALUE_LENGTH]
        for k, v in fields.items()
        if isinstance(k, str) and _FIELD_NAME.fullmatch(k) and isinstance(v, str)
    }


def sign_in_again(public_id: str | None) -> rx.event.EventSpec:
    """To the sign-in page; once signed in, back to the kept draft with the message."""
    if not public_id:
        return rx.redirect(routes.LOGIN)
    back = f"{routes.draft_url(public_id)}&timeout=1"
    return rx.redirect(f"{routes.LOGIN}?next={quote(back, safe='')}")


# ----- the form state's hooks for these handlers (see ReferralFormState) -----------------------


def max_event() -> int:
    return get_settings().socket_max_event_bytes


def autosaved(state, result):
    """A field kept in the draft: the first one makes the draft, and the address names it."""
    if result is None or state._draft_id == result.public_id:
        return None
    state._draft_id = state.draft_ref = result.public_id
    url = routes.referral_page(result.public_id, state.section, back_to_check=state.back_to_check)
    return rx.call_script(f"history.replaceState(null, '', '{url}')")


def keep_quietly(state, form_data=None):
    """A field typed after the session timed out: kept in the draft, nothing said yet (the
    timeout warning said it; Submit leads to signing in)."""
    state._keep(sent_fields(form_data, max_event()), public_id_or_empty(
        form_data.get("draft_id") if isinstance(form_data, dict) else None))


def submit_after_timeout(state, form_data=None):
    """Submit pressed after the session timed out: keep everything in the draft, then sign
    in again and come back to it."""
    sent = form_data.get("draft_id") if isinstance(form_data, dict) else None
    kept = state._keep(rf.clean_form_data(form_data), public_id_or_empty(sent))
    return sign_in_again(kept)


def saved_after_timeout(state):
    return sign_in_again(state._draft_id or None)


def hidden_parts(state) -> rx.Component:
    """The autosave form and the "submit the saved draft" button; outside the main form (a
    form cannot hold another), never shown."""
    return rx.el.div(
        rx.el.form(
            rx.el.input(type="hidden", name="draft_id", value=state.draft_ref),
            rx.el.input(type="hidden", name="fields", default_value=""),
            id=AUTOSAVE_FORM,
            on_submit=state.autosave,
            reset_on_submit=False,
        ),
        rx.el.button("Continue with the saved draft", type="button", id=SUBMIT_SAVED,
                     tab_index=-1, on_click=state.continue_saved),
        hidden=True,
        aria_hidden="true",
    )


def timed_out_notice(state) -> rx.Component:
    return rx.cond(
        state.timed_out,
        rx.el.div(
            rx.el.h2("You were signed out", class_name="notification__title"),
            rx.el.div(TIMED_OUT, class_name="notification__body"),
            class_name="notification",
            role="region",
            aria_label="You were signed out",
            id=TIMED_OUT_ID,
            tab_index=-1,
        ),
    )
