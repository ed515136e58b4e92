"""/inbox/settings: how a person is told (email at once or a daily digest), and for team leads
the team's switches, email defaults and the duty officer (issue 7).

The forms are drawn from notifications.EVENTS when the app is compiled; the state only says
which of them this person sees, so every field keeps a fixed name and id.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...db import session_scope
from ...domain import Role
from ...errors import FieldError, ServiceError, ValidationFailed
from ...permissions import Actor
from ...services.notify import notifications
from ...state.auth import AuthState

SETTINGS_ROLES = tuple(Role)
EVENTS = notifications.EVENTS
DELIVERY = {str(k): v for k, v in notifications.DELIVERY_LABELS.items()}
TEAM_DEFAULTS = {"immediate": "Straight away", "digest": "Daily digest"}
URGENT = [str(e) for e, info in EVENTS.items() if info.urgent]
CHOOSABLE = [str(e) for e, info in EVENTS.items() if not info.urgent]
LOCKED_TEXT = "Always emailed at once — cannot be turned off"
FOCUS_MESSAGE = (
    "window.setTimeout(() => { const m = document.getElementById('settings-message');"
    " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
)


def _label(event: str) -> str:
    return EVENTS[notifications.NotifyEvent(event)].label


def _who(event: str) -> str:
    return EVENTS[notifications.NotifyEvent(event)].who


class InboxSettingsState(AuthState):
    loaded: bool = False
    is_lead: bool = False
    mine: list[str] = []  # events this person can receive
    switched_off: list[str] = []  # ... that the team has turned off
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    message: str = ""
    problem: str = ""
    duty_options: list[list[str]] = []  # [user id, name]
    form_key: int = 0  # a new key redraws the forms with the saved values

    def _fill(self, session, actor: Actor) -> None:
        values: dict[str, str] = {}
        prefs = notifications.preferences(session, actor=actor)
        for row in prefs:
            values[f"delivery-{row.event}"] = row.delivery
        self.mine = [row.event for row in prefs]
        self.switched_off = [row.event for row in prefs if not row.enabled]
        self.is_lead = actor.role == Role.LEAD
        if self.is_lead:
            for rule in notifications.team_rules(session, actor=actor):
                values[f"enabled-{rule.event}"] = "on" if rule.enabled else ""
                values[f"default-{rule.event}"] = rule.default_delivery
            duty = notifications.duty_officer_id(session)
            values["duty_officer"] = str(duty) if duty else ""
            self.duty_options = [
                [str(uid), name] for uid, name in notifications.duty_choices(session)
            ]
        else:
            self.duty_options = []
        self.values = values
        self.form_key += 1

    def _clear_feedback(self) -> None:
        self.errors, self.error_list, self.message, self.problem = {}, [], "", ""

    def _show_errors(self, errors: list[FieldError]):
        self.error_list = [[e.field, e.message] for e in errors]
        self.errors = {f: m for f, m in reversed(self.error_list)}
        return rx.call_script(forms.FOCUS_ERROR_SUMMARY)

    def _done(self, actor: Actor, message: str):
        self.message = message
        with session_scope() as session:
            self._fill(session, actor)
        return rx.call_script(FOCUS_MESSAGE)

    def _refuse(self, text: str):
        self.problem = text
        return rx.call_script(FOCUS_MESSAGE)

    @rx.event
    def load(self):
        self.loaded, self.values, self.mine, self.duty_options = False, {}, [], []
        self.is_lead = False
        self._clear_feedback()
        actor, redirect = self._page_guard(*SETTINGS_ROLES)
        if redirect:
            return redirect
        with session_scope() as session:
            self._fill(session, actor)
        self.loaded = True
        return None

    @rx.event
    def save_preferences(self, form_data: dict):
        actor = self._actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        self._clear_feedback()
        data = form_data if isinstance(form_data, dict) else {}
        choices = {
            key.removeprefix("delivery-"): str(value)[:20]
            for key, value in data.items()
            if isinstance(key, str) and key.startswith("delivery-") and len(key) <= 60
        }
        if not any(actor.role in info.roles for info in EVENTS.values()):
            return self._refuse("You are not sent notifications, so there is nothing to set.")
        if not choices:
            return self._show_errors([FieldError("delivery", "Choose how you want to be told")])
        try:
            with session_scope() as session:
                # Only what the person changed is saved: an untouched event keeps following
                # the team's default if a lead changes it later.
                now = {p.event: p.delivery for p in notifications.preferences(session, actor=actor)}
                changed = {e: d for e, d in choices.items() if now.get(e) != d}
                if changed:
                    notifications.set_preferences(session, actor=actor, choices=changed)
        except ValidationFailed as exc:
            return self._show_errors(exc.errors)
        except ServiceError as exc:
            return self._refuse(str(exc))
        if not changed:
            return self._done(actor, "Nothing has changed: your email choices are as they were.")
        return self._done(actor, "Your email choices have been saved.")

    @rx.event
    def save_team(self, form_data: dict):
        """The team's switches and defaults and the duty officer, saved together or not at
        all."""
        actor = self._actor()
        if actor is None:
            return rx.redirect(routes.LOGIN)
        self._clear_feedback()
        if actor.role != Role.LEAD:
            return self._refuse("Only a team lead can change the team's settings.")
        data = form_data if isinstance(form_data, dict) else {}
        rules = {
            key: value
            for key, value in data.items()
            if isinstance(key, str) and key.startswith(("enabled-", "default-")) and len(key) <= 60
        }
        raw = str(data.get("duty_officer") or "")
        duty = int(raw) if raw.isdigit() and len(raw) <= 10 else 0
        problems: list[FieldError] = []
        try:
            with session_scope() as session:
                try:
                    notifications.set_duty_officer(session, actor=actor, officer_id=duty)
                except ValidationFailed as exc:
                    problems += exc.errors
                try:
                    notifications.set_team_rules(session, actor=actor, form=rules)
                except ValidationFailed as exc:
                    problems += exc.errors
                if problems:
                    raise ValidationFailed(problems)  # undo both
        except ValidationFailed as exc:
            return self._show_errors(exc.errors)
        except ServiceError as exc:
            return self._refuse(str(exc))
        return self._done(actor, "The team's notification settings have been saved.")


# ----- page ----------------------------------------------------------------------------------


def _messages() -> rx.Component:
    s = InboxSettingsState
    return rx.fragment(
        forms.error_summary(s.error_list),
        rx.el.div(
            rx.cond(
                s.problem != "",
                rx.el.p(s.problem, class_name="board-message board-message--error"),
                rx.cond(s.message != "", rx.el.p(s.message, class_name="board-message")),
            ),
            id="settings-message",
            role="status",
            tab_index=-1,
        ),
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
