"""/admin/users: the administrator's accounts page (design.md §2, §4). Find an account, add
one, disable or enable it, reset its password or its authentication app.

The same services as `cme-app users ...`; every one checks the caller is an administrator and
writes the audit trail. Passwords typed here go straight to the service: they are never put in
the state (so never sent back to the browser) and the password inputs are emptied afterwards.
Which account an action applies to is kept server-side (`_target`) between the row's button and
the confirmation, so the confirmation cannot be pointed at another account from the browser.
"""

from __future__ import annotations

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...components.pager import pager
from ...db import session_scope
from ...domain import ROLE_LABELS, Role
from ...errors import FieldError, ServiceError, ValidationFailed
from ...permissions import Actor
from ...services.trust import accounts as users
from ...services.trust import auth, mfa
from ...services.trust.accounts import UserRow
from ...state.auth import AuthState

ADMINS = (Role.ADMIN,)
ADD_FIELDS = ("email", "name", "role", "school_urn")  # the password is never kept
ROLE_CHOICES = {str(r): label for r, label in ROLE_LABELS.items()}
CONFIRMED_ACTIONS = ("disable", "reset_password", "reset_mfa")
# Plainer words on the page than the command line's for the two choices made from a list.
PAGE_MESSAGES = {
    "role": "Select the person's role",
    "school_urn": "Select the school this person works at",
}
NO_ACCOUNT = "That account could not be found. It may have been changed: search again."
POLICY_HINT = (
    "At least 12 characters. It must not be a common password (such as one found in data "
    "breaches), and not mostly the person's email address or the name of this service. "
    "3 or 4 random words make a good password. Tell the person in a safe way, not in the same "
    "email as their address."
)
STAFF_MFA_NOTE = (
    "Staff (officers, team leads, administrators and auditors) set up their authentication app "
    "when they first sign in. School accounts sign in with their password only."
)


def _focus(element_id: str):
    return rx.call_script(
        f"window.setTimeout(() => {{ const m = document.getElementById('{element_id}');"
        " if (m) { m.focus(); m.scrollIntoView(); } }, 50)"
    )


def _ordered(errors: list[FieldError], order: tuple[str, ...]) -> list[list[str]]:
    """Errors in the order of the form's fields, as the summary should list them."""
    rank = {name: i for i, name in enumerate(order)}
    return [[e.field, e.message]
            for e in sorted(errors, key=lambda e: rank.get(e.field, len(order)))]


class AdminUsersState(AuthState):
    loaded: bool = False
    rows: list[UserRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    filters: dict[str, str] = {}  # the search form as last applied
    values: dict[str, str] = {}  # the add form, kept after a mistake (never the password)
    errors: dict[str, str] = {}
    error_list: list[list[str]] = []
    new_role: str = ""  # the role chosen in the add form: School shows only for schools
    school_options: list[list[str]] = []  # [URN, "Name (URN 107999)"]
    form_key: int = 0  # a new key redraws the forms: values as kept, password inputs empty
    created_name: str = ""
    created_email: str = ""
    created_role: str = ""
    message: str = ""
    problem: str = ""
    # The action waiting for "Yes": disable | reset_password | reset_mfa, and whose account.
    pending_action: str = ""
    pending_id: int = 0
    pending_name: str = ""
    pending_email: str = ""
    _target: str = ""  # that account's email, server-side only

    def _clear_feedback(self) -> None:
        self.errors, self.error_list, self.message, self.problem = {}, [], "", ""
        self.created_name, self.created_email, self.created_role = "", "", ""

    def _clear_pending(self) -> None:
        self.pending_action, self.pending_id, self.pending_name, self.pending_email = "", 0, "", ""
        self._target = ""

    def _guard(self):
        """(actor, None) for an administrator; otherwise (None, where to send them)."""
        return self._page_guard(*ADMINS)

    def _list(self, actor: Actor, number: int) -> None:
        f = self.filters
        with session_scope() as session:
            found = users.list_users(
                session, actor=actor, query=f.get("search", ""), role=f.get("filter_role", ""),
                page=number,
            )
        self.rows, self.page, self.pages, self.total = (
            found.rows, found.page, found.pages, found.total
        )

    def _show_errors(self, error_list: list[list[str]]):
        self.error_list = error_list
        self.errors = {f: m for f, m in reversed(error_list)}
        return rx.call_script(forms.FOCUS_ERROR_SUMMARY)

    def _refuse(self, text: str):
        self.problem = text
        return _focus("users-message")

    @rx.event
    def load(self):
        self.loaded, self.rows, self.total, self.page, self.pages = False, [], 0, 1, 1
        self.filters, self.values, self.new_role, self.school_options = {}, {}, "", []
        self._clear_feedback()
        self._clear_pending()
        actor, redirect = self._guard()
        if redirect:
            return redirect
        with session_scope() as session:
            self.school_options = [
                [urn, label] for urn, label in users.school_choices(session, actor=actor)
            ]
        self._list(actor, 1)
        self.loaded = True
        return None

    @rx.event
    def search(self, form_data: dict):
        actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        self._clear_pending()
        data = forms.prefixed_fields(form_data, "")
        wanted = {k: data.get(k, "").strip()[:200] for k in ("search", "filter_role")}
        previous, self.filters = self.filters, wanted
        try:
            self._list(actor, 1)
        except ValidationFailed as exc:
            self.filters = previous
            return self._show_errors([[e.field, e.message] for e in exc.errors])
        return None

    @rx.event
    def go_to_page(self, number: int):
        actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        try:
            self._list(actor, number)
        except ValidationFailed:
            return self._refuse("That page does not exist.")
        return None

    @rx.event
    def set_new_role(self, value: str):
        """The add form's Role changed: show School for a school account only."""
        _actor, redirect = self._guard()
        if redirect:
            return redirect
        value = value if isinstance(value, str) and value in ROLE_CHOICES else ""
        if self.new_role != value:
            self.new_role = value
        return None

    @rx.event
    def add_account(self, form_data: dict):
        actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        self._clear_pending()
        data = forms.prefixed_fields(form_data, "")
        values = {k: data.get(k, "").strip()[:300] for k in ADD_FIELDS}
        password = data.pop("password", "")
        is_school = values["role"] == Role.SCHOOL
        if not is_school:
            values["school_urn"] = ""
        try:
            with session_scope() as session:
                user = auth.create_user(
                    session, email=values["email"], role=values["role"], password=password,
                    name=values["name"], school_urn=values["school_urn"] if is_school else None,
                    actor=actor,
                )
                created = (user.name, user.email, ROLE_LABELS[Role(user.role)])
        except ValidationFailed as exc:
            errors = [FieldError(e.field, PAGE_MESSAGES.get(e.field, e.message))
                      for e in exc.errors]
            # Nothing saved; the form comes back as typed, except the password.
            self.values, self.new_role = values, values["role"]
            self.form_key += 1
            return self._show_errors(_ordered(errors, (*ADD_FIELDS, "password")))
        except ServiceError as exc:
            self.form_key += 1
            return self._refuse(str(exc))
        self.created_name, self.created_email, self.created_role = created
        self.values, self.new_role = {}, ""
        self.form_key += 1
        self._list(actor, self.page)
        return _focus("account-added")

    def _row(self, user_id) -> UserRow | None:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        return next((r for r in self.rows if r.id == user_id), None)

    @rx.event
    def choose_action(self, action: str, user_id: int):
        """A row's Disable, Reset password or Reset authentication app: ask to confirm."""
        _actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        self._clear_pending()
        row = self._row(user_id)
        if action not in CONFIRMED_ACTIONS or row is None:
            return self._refuse(NO_ACCOUNT)
        if action == "disable" and row.is_you:
            return self._refuse(auth.CANNOT_DISABLE_YOURSELF)
        self.pending_action, self.pending_id = action, row.id
        self.pending_name, self.pending_email, self._target = row.name, row.email, row.email
        self.form_key += 1
        return _focus("confirm-action")

    @rx.event
    def cancel_action(self):
        _actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        self._clear_pending()
        return None

    @rx.event
    def confirm_action(self, form_data: dict):
        """"Yes" to the action waiting for confirmation (a new password comes with it)."""
        actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        action, email, name = self.pending_action, self._target, self.pending_name
        if action not in CONFIRMED_ACTIONS or not email:
            self._clear_pending()
            return self._refuse("Choose an account in the list first.")
        password = ""
        if action == "reset_password":
            password = forms.prefixed_fields(form_data, "").get("new_password", "")
        try:
            with session_scope() as session:
                if action == "disable":
                    auth.disable_user(session, email=email, actor=actor)
                elif action == "reset_password":
                    auth.reset_password(session, email=email, password=password, actor=actor)
                else:
                    mfa.reset_mfa(session, email=email, actor=actor)
        except ValidationFailed as exc:
            self.form_key += 1  # empties the new password input
            if any(e.field == "email" for e in exc.errors):
                self._clear_pending()
                return self._refuse(NO_ACCOUNT)
            return self._show_errors([["new_password", e.message] for e in exc.errors])
        except ServiceError as exc:
            self._clear_pending()
            return self._refuse(str(exc))
        who = f"{name} ({email})"
        self.message = {
            "disable": f"Account disabled for {who}. They have been signed out and cannot "
                       "sign in until an administrator enables the account again.",
            "reset_password": f"Password reset for {who}. They have been signed out. Tell "
                              "them the new password in a safe way. Their authentication app "
                              "is unchanged.",
            "reset_mfa": f"Authentication app reset for {who}. They have been signed out and "
                         "set up their app again when they next sign in.",
        }[action]
        self._clear_pending()
        self.form_key += 1
        self._list(actor, self.page)
        return _focus("users-message")

    @rx.event
    def enable_account(self, user_id: int):
        actor, redirect = self._guard()
        if redirect:
            return redirect
        self._clear_feedback()
        self._clear_pending()
        row = self._row(user_id)
        if row is None:
            return self._refuse(NO_ACCOUNT)
        try:
            with session_scope() as session:
                auth.enable_user(session, email=row.email, actor=actor)
        except ValidationFailed:
            return self._refuse(NO_ACCOUNT)
        except ServiceError as exc:
            return self._refuse(str(exc))
        self.message = (f"Account enabled for {row.name} ({row.email}). They can sign in again "
                        "with their password.")
        self._list(actor, self.page)
        return _focus("users-message")


S = AdminUsersState


# ----- page ----------------------------------------------------------------------------------


def _messages() -> rx.Component:
    return rx.fragment(
        forms.error_summary(S.error_list),
        rx.el.div(
            rx.cond(
                S.problem != "",
                rx.el.p(S.problem, class_name="board-message board-message--error"),
                rx.cond(S.message != "", rx.el.p(S.message, class_name="board-message")),
            ),
            id="users-message",
            role="status",
            tab_index=-1,
        ),
        rx.cond(
            S.created_email != "",
            rx.el.div(
                rx.el.h2("Account added", class_name="panel__title"),
                rx.el.div(
                    S.created_name, " – ", S.created_role,
                    rx.el.strong(S.created_email),
                    class_name="panel__body",
                ),
                id="account-added",
                tab_index=-1,
                role="status",
                class_name="panel",
            ),
        ),
        rx.cond(
            S.created_email != "",
            rx.el.p("Tell them their password in a safe way, not in the same email as their "
                    "address. ", STAFF_MFA_NOTE),
        ),
    )


def _filters() -> rx.Component:
    name = "filter_role"
    return rx.el.form(
        rx.el.div(
            forms.text_field("search", "Search by name or email", S.filters, S.errors),
            forms._group(
                S.errors, name,
                rx.el.label("Role", html_for=name, class_name="label"),
                forms._error(S.errors, name),
                rx.el.select(
                    rx.el.option("All roles", value=""),
                    *[rx.el.option(text, value=value) for value, text in ROLE_CHOICES.items()],
                    id=name, name=name, default_value=S.filters[name].to(str),
                    aria_describedby=f"{name}-error",
                    class_name=rx.cond(S.errors.contains(name), "select select--error", "select"),
                ),
            ),
            class_name="audit-filters",
        ),
        rx.el.div(
            rx.el.button("Search", type="submit", class_name="button"),
            rx.el.a("Clear search", href=routes.ADMIN_USERS, class_name="button-group__link"),
            class_name="button-group button-group--tight",
        ),
        on_submit=S.search,
        reset_on_submit=False,
        no_validate=True,
        aria_label="Find accounts",
        role="search",
    )


def _actions(r: rx.Var) -> rx.Component:
    def button(text: str, on_click, kind: str = "button--secondary") -> rx.Component:
        return rx.el.button(text, type="button", on_click=on_click,
                            aria_label=text + " for " + r.name,
                            class_name=f"button {kind} users-action")

    return rx.cond(
        r.is_you,
        rx.el.span("Your account", class_name="hint"),
        rx.fragment(
            rx.cond(
                r.active,
                button("Disable account", S.choose_action("disable", r.id), "button--warning"),
                button("Enable account", S.enable_account(r.id)),
            ),
            button("Reset password", S.choose_action("reset_password", r.id)),
            rx.cond(
                r.mfa_set_up,
                button("Reset authentication app", S.choose_action("reset_mfa", r.id)),
            ),
        ),
    )


def _row(r: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.td(rx.el.strong(r.name), rx.el.br(),
                 rx.el.span(r.email, class_name="users-email"), data_label="Account"),
        rx.el.td(r.role_label, data_label="Role"),
        rx.el.td(r.school, data_label="School"),
        rx.el.td(
            rx.el.strong(r.status, class_name=rx.cond(r.active, "tag tag--green", "tag tag--grey")),
            data_label="Status",
        ),
        rx.el.td(r.mfa, data_label="Authentication app"),
        rx.el.td(_actions(r), class_name="users-actions", data_label="Actions"),
        key=r.id,
    )


def _table() -> rx.Component:
    headers = ["Account", "Role", "School", "Status", "Authentication app", "Actions"]
    return rx.el.div(
        rx.el.table(
            rx.el.caption("Accounts, by role then name", class_name="visually-hidden"),
            rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col") for h in headers])),
            rx.el.tbody(rx.foreach(S.rows, _row)),
            class_name="table table--stack users-table",
        ),
        class_name="table-wrap",
    )


def _pager() -> rx.Component:
    return pager(S.page, S.pages, S.total, S.go_to_page, noun="accounts", label="Pages of accounts")


def _confirm() -> rx.Component:
    """The question before an action, above the list, naming the account."""
    title = rx.match(
        S.pending_action,
        ("disable", "Disable account for "),
        ("reset_password", "Reset password for "),
        "Reset authentication app for ",
    )
    explain = rx.match(
        S.pending_action,
        ("disable", "They are signed out at once and cannot sign in until an administrator "
                    "enables the account again. Nothing they recorded is deleted."),
        ("reset_password", "They are signed out at once. Their authentication app is unchanged."),
        "They are signed out at once and must set up their authentication app again when they "
        "next sign in, for example after losing their phone.",
    )
    yes = rx.match(
        S.pending_action,
        ("disable", "Yes, disable account"),
        ("reset_password", "Set new password"),
        "Yes, reset authentication app",
    )
    return rx.cond(
        S.pending_action != "",
        rx.el.form(
            rx.el.h2(title, S.pending_name, id="confirm-title"),
            rx.el.p(S.pending_email, class_name="hint"),
            rx.el.p(explain),
            rx.cond(
                S.pending_action == "reset_password",
                forms.text_field("new_password", "New password", S.values, S.errors,
                                 hint=POLICY_HINT, input_type="password",
                                 autocomplete="new-password", width="input--w20"),
            ),
            rx.el.div(
                rx.el.button(yes, type="submit", class_name=rx.cond(
                    S.pending_action == "disable", "button button--warning", "button")),
                rx.el.button("Cancel", type="button", on_click=S.cancel_action,
                             class_name="button button--secondary"),
                class_name="button-group button-group--tight",
            ),
            on_submit=S.confirm_action,
            reset_on_submit=True,
            no_validate=True,
            id="confirm-action",
            tab_index=-1,
            aria_labelledby="confirm-title",
            class_name="users-confirm",
            key=S.form_key,
        ),
    )


def _add_form() -> rx.Component:
    return rx.el.section(
        rx.el.h2("Add an account", id="add-account"),
        rx.el.form(
            forms.text_field("email", "Email", S.values, S.errors, input_type="email",
                             width="input--w20", hint="Their work email address. They sign in "
                             "with it."),
            forms.text_field("name", "Full name", S.values, S.errors, width="input--w20"),
            forms.select_field("role", "Role", ROLE_CHOICES, S.values, S.errors,
                               on_change=S.set_new_role),
            rx.cond(
                S.new_role == "school",
                forms.select_field("school_urn", "School", S.school_options, S.values, S.errors,
                                   hint="The school this person works at, by name and URN."),
            ),
            # `values` never holds a password, so the input always starts empty.
            forms.text_field("password", "Password", S.values, S.errors, hint=POLICY_HINT,
                             input_type="password", autocomplete="new-password",
                             width="input--w20"),
            rx.el.p(STAFF_MFA_NOTE, class_name="hint"),
            rx.el.button("Add account", type="submit", class_name="button"),
            on_submit=S.add_account,
            reset_on_submit=False,
            no_validate=True,
            aria_labelledby="add-account",
            key=S.form_key,
        ),
        aria_labelledby="add-account",
        class_name="section",
    )


@rx.page(route=routes.ADMIN_USERS, title="Users – Children Missing Education", on_load=S.load)
def admin_users_page() -> rx.Component:
    return page(
        rx.el.h1("Users"),
        _messages(),
        rx.cond(
            S.loaded,
            rx.fragment(
                rx.el.p("Everyone who signs in: staff of the CME team and of schools. Every "
                        "change is recorded in the audit trail.", class_name="hint"),
                _filters(),
                _confirm(),
                rx.el.h2("Accounts", id="accounts"),
                rx.cond(
                    S.total == 0,
                    rx.el.p("No accounts match this search."),
                    rx.fragment(_table(), _pager()),
                ),
                _add_form(),
            ),
        ),
    )
