"""/inbox/settings: how a person is told (email at once or a daily digest), and for team leads
the team's switches, email defaults and the duty officer (issue 7).

The forms are drawn from notifications.EVENTS when the app is compiled; the state only says
which of them this person sees, so every field keeps a fixed name and id.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.content import status_line
from ...components.layout import page
from ...db import session_scope
from ...numbers import row_id
from ...permissions import Actor, Capability, allows
from ...services.notify import notifications, preferences
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, handler, page_load

EVENTS = notifications.EVENTS
DELIVERY = {str(k): v for k, v in notifications.DELIVERY_LABELS.items()}
TEAM_DEFAULTS = {"immediate": "Straight away", "digest": "Daily digest"}
URGENT = [str(e) for e, info in EVENTS.items() if info.urgent]
CHOOSABLE = [str(e) for e, info in EVENTS.items() if not info.urgent]
LOCKED_TEXT = "Always emailed at once — cannot be turned off"
KEY_LIMIT = 60  # longer field names are not the form's


def _label(event: str) -> str:
    return EVENTS[notifications.NotifyEvent(event)].label


def _who(event: str) -> str:
    return EVENTS[notifications.NotifyEvent(event)].who


def _fields(data: dict, *prefixes: str) -> dict:
    return {
        key: value
        for key, value in data.items()
        if isinstance(key, str) and key.startswith(prefixes) and len(key) <= KEY_LIMIT
    }


class InboxSettingsState(PageFeedback, AuthState):
    loaded: bool = False
    is_lead: bool = False
    mine: list[str] = []  # events this person can receive
    switched_off: list[str] = []  # ... that the team has turned off
    values: dict[str, str] = {}
    duty_options: list[list[str]] = []  # [user id, name]

    message_id: ClassVar[str] = "settings-message"

    def _fill(self, session, actor: Actor) -> None:
        """The forms' values as saved; a new form key redraws the forms with them."""
        values: dict[str, str] = {}
        prefs = preferences.preferences(session, actor=actor)
        for row in prefs:
            values[f"delivery-{row.event}"] = row.delivery
        self.mine = [row.event for row in prefs]
        self.switched_off = [row.event for row in prefs if not row.enabled]
        self.is_lead = allows(actor.role, Capability.TEAM_NOTIFICATION_RULES)
        self.duty_options = []
        if self.is_lead:
            for rule in preferences.team_rules(session, actor=actor):
                values[f"enabled-{rule.event}"] = "on" if rule.enabled else ""
                values[f"default-{rule.event}"] = rule.default_delivery
            duty = notifications.duty_officer_id(session)
            values["duty_officer"] = str(duty) if duty else ""
            self.duty_options = [
                [str(uid), name] for uid, name in preferences.duty_choices(session)
            ]
        self.values = values
        self.form_key += 1

    def _after_success(self, actor: Actor, result) -> None:
        with session_scope() as session:
            self._fill(session, actor)

    def _reset_page(self) -> None:
        self.loaded, self.values, self.mine, self.duty_options = False, {}, [], []
        self.is_lead = False
        self._clear_feedback()

    @rx.event
    @page_load(Capability.SIGNED_IN)
    def load(self):
        return self._show

    def _show(self, session, actor: Actor) -> None:
        self._fill(session, actor)
        self.loaded = True

    @rx.event
    @handler(
        Capability.NOTIFICATION_PREFERENCES,
        refused="You are not sent notifications, so there is nothing to set.",
        done=lambda changed: (
            "Your email choices have been saved." if changed
            else "Nothing has changed: your email choices are as they were."
        ),
    )
    def save_preferences(self, form_data: dict):
        data = form_data if isinstance(form_data, dict) else {}
        choices = {
            key.removeprefix("delivery-"): str(value)[:20]
            for key, value in _fields(data, "delivery-").items()
        }
        return partial(preferences.save_changed_choices, choices=choices)

    @rx.event
    @handler(
        Capability.TEAM_NOTIFICATION_RULES,
        refused="Only a team lead can change the team's settings.",
        done="The team's notification settings have been saved.",
    )
    def save_team(self, form_data: dict):
        """The team's switches and defaults and the duty officer, saved together or not at
        all."""
        data = form_data if isinstance(form_data, dict) else {}
        raw = str(data.get("duty_officer") or "")
        duty = row_id(raw) or 0
        return partial(preferences.set_team_settings,
                       rules=_fields(data, "enabled-", "default-"), officer_id=duty)


# ----- page ----------------------------------------------------------------------------------


def _messages() -> rx.Component:
    s = InboxSettingsState
    return rx.fragment(
        forms.error_summary(s.error_list),
        status_line(s.problem, s.message, element_id=InboxSettingsState.message_id),
    )


def _locked(event: str) -> rx.Component:
    return rx.el.div(
        rx.el.p(_label(event), class_name="settings-event__label"),
        rx.el.p(
            rx.el.strong("Urgent", class_name="tag tag--risk-red"),
            " ",
            LOCKED_TEXT,
            class_name="settings-event__fixed",
        ),
        class_name="settings-event settings-event--locked",
    )


def _choice(event: str) -> rx.Component:
    s = InboxSettingsState
    return rx.el.div(
        forms.radios(f"delivery-{event}", _label(event), DELIVERY, s.values, s.errors),
        rx.cond(
            s.switched_off.contains(event),
            rx.el.p(
                "Your team has turned this off, so you are not told about it at the moment.",
                class_name="hint settings-event__off",
            ),
        ),
        class_name="settings-event",
    )


def _mine() -> rx.Component:
    s = InboxSettingsState
    return rx.el.section(
        rx.el.h2("How you are told", id="how-told"),
        rx.el.p(
            "Everything appears in your inbox straight away. Choose whether you are also "
            "emailed at once, or in one daily digest email each morning.",
            class_name="hint",
        ),
        rx.cond(
            s.mine.length() > 0,
            rx.el.form(
                *[rx.cond(s.mine.contains(e), _locked(e)) for e in URGENT],
                *[rx.cond(s.mine.contains(e), _choice(e)) for e in CHOOSABLE],
                rx.el.button("Save your choices", type="submit", class_name="button"),
                on_submit=InboxSettingsState.save_preferences,
                reset_on_submit=False,
                no_validate=True,
                id="delivery",
                tab_index=-1,
                aria_labelledby="how-told",
                key=s.form_key,
            ),
            rx.el.p(
                "Administrators and auditors are not sent notifications, so there is "
                "nothing to set here."
            ),
        ),
        aria_labelledby="how-told",
    )


def _rule(event: str) -> rx.Component:
    s = InboxSettingsState
    return rx.el.fieldset(
        rx.el.legend(_label(event), class_name="legend legend--s"),
        rx.el.p("Who is told: ", _who(event), class_name="hint"),
        forms.checkbox(f"enabled-{event}", "On: tell people about this", s.values),
        forms.radios(f"default-{event}", "Email by default", TEAM_DEFAULTS, s.values, s.errors),
        class_name="fieldset settings-rule",
    )


def _duty() -> rx.Component:
    s = InboxSettingsState
    name = "duty_officer"
    return rx.el.div(
        rx.el.label("Duty officer", html_for=name, class_name="label"),
        rx.el.p(
            "Told about every new referral, with the team leads.",
            id=f"{name}-hint",
            class_name="hint",
        ),
        rx.cond(
            s.errors.contains(name),
            rx.el.p(
                rx.el.span("Error: ", class_name="visually-hidden"),
                s.errors[name],
                id=f"{name}-error",
                class_name="error-message",
            ),
        ),
        rx.el.select(
            rx.el.option("Select the duty officer", value=""),
            rx.foreach(s.duty_options, lambda o: rx.el.option(o[1], value=o[0], key=o[0])),
            id=name,
            name=name,
            default_value=s.values[name].to(str),
            aria_describedby=f"{name}-hint {name}-error",
            class_name=rx.cond(s.errors.contains(name), "select select--error", "select"),
        ),
        class_name=rx.cond(s.errors.contains(name), "form-group form-group--error", "form-group"),
    )


def _team() -> rx.Component:
    return rx.el.section(
        rx.el.h2("Team settings", id="team-settings"),
        rx.el.p(
            "For the whole team. Each person can still choose email at once or the daily "
            "digest for themselves.",
            class_name="hint",
        ),
        rx.el.form(
            _duty(),
            *[_locked(e) for e in URGENT],
            *[_rule(e) for e in CHOOSABLE],
            rx.el.button("Save team settings", type="submit", class_name="button"),
            on_submit=InboxSettingsState.save_team,
            reset_on_submit=False,
            no_validate=True,
            aria_labelledby="team-settings",
            key=InboxSettingsState.form_key,
        ),
        aria_labelledby="team-settings",
        class_name="section settings-team",
    )


@rx.page(
    route=routes.INBOX_SETTINGS,
    title="Notification settings – Children Missing Education",
    on_load=InboxSettingsState.load,
)
def inbox_settings_page() -> rx.Component:
    s = InboxSettingsState
    return page(
        rx.el.a("Back to your inbox", href=routes.INBOX, class_name="back-link"),
        rx.el.h1("Notification settings"),
        _messages(),
        rx.cond(
            s.loaded,
            rx.fragment(_mine(), rx.cond(s.is_lead, _team())),
        ),
        narrow=True,
    )
