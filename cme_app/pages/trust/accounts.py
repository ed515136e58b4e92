"""/admin/users: the administrator's accounts page. Add an account (first on the page), find
one by name or email, role and status, 25 to a page, and from the row's Actions menu reset its
password or its authentication app, or disable or enable it.

The same services as `cme-app users ...`; every one checks the caller is an administrator and
writes the audit trail. Passwords typed here go straight to the service: they are never put in
the state (so never sent back to the browser) and the password inputs are emptied afterwards.
Which account an action applies to is kept server-side (`_target`) between the row's button and
the confirmation, so the confirmation cannot be pointed at another account from the browser.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import reflex as rx

from ... import routes
from ...components import forms
from ...components.layout import page
from ...components.pager import pager
from ...db import session_scope
from ...domain import ROLE_LABELS, Role
from ...errors import FieldError, NotFound, ServiceError, ValidationFailed
from ...permissions import Actor, Capability
from ...services.trust import accounts as users
from ...services.trust import auth, mfa
from ...services.trust.accounts import UserRow
from ...state.auth import AuthState
from ...state.handlers import PageFeedback, focus_script, handler, page_load

ADD_FIELDS = ("email", "name", "role", "school_urn")  # the password is never kept
ROLE_CHOICES = {str(r): label for r, label in ROLE_LABELS.items()}
FILTERS = ("search", "filter_role", "filter_status")
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
# The actions asked about first, the service each runs, and what the page says when done.
CONFIRMED = {
    "disable": (
        auth.disable_user,
        "Account disabled for {who}. They have been signed out and cannot sign in until an "
        "administrator enables the account again.",
    ),
    "reset_password": (
        auth.reset_password,
        "Password reset for {who}. They have been signed out. Tell them the new password in a "
        "safe way. Their authentication app is unchanged.",
    ),
    "reset_mfa": (
        mfa.reset_mfa,
        "Authentication app reset for {who}. They have been signed out and set up their app "
        "again when they next sign in.",
    ),
}


def _ordered(errors: list[FieldError], order: tuple[str, ...]) -> list[FieldError]:
    """Errors in the order of the form's fields, as the summary should list them."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(errors, key=lambda e: rank.get(e.field, len(order)))


def _create(session, *, actor: Actor, values: dict[str, str], password: str):
    """Add the account; its name, email and role for the page, or the form's errors in the
    page's words and order."""
    is_school = values["role"] == Role.SCHOOL
    try:
        user = auth.create_user(
            session, email=values["email"], role=values["role"], password=password,
            name=values["name"], school_urn=values["school_urn"] if is_school else None,
            actor=actor,
        )
    except ValidationFailed as exc:
        worded = [FieldError(e.field, PAGE_MESSAGES.get(e.field, e.message)) for e in exc.errors]
        raise ValidationFailed(_ordered(worded, (*ADD_FIELDS, "password"))) from None
    return user.name, user.email, ROLE_LABELS[Role(user.role)]


def _add(session, *, actor: Actor, values: dict[str, str], password: str):
    """The add form's unit of work (in a worker thread: the password is hashed); what the
    page shows comes after, in `_added`."""
    return _create(session, actor=actor, values=values, password=password), actor


def _change(session, *, actor: Actor, change, email: str, **kwargs):
    """One account's change. An account that has gone since the list was shown is not found
    (the service words it for the command line's `--email`)."""
    try:
        return change(session, email=email, actor=actor, **kwargs)
    except ValidationFailed as exc:
        if not any(e.field == "email" for e in exc.errors):
            raise  # a new password the policy refuses: the question stays open
        raise NotFound(NO_ACCOUNT) from None


def _confirmed(session, *, actor: Actor, action: str, email: str, who: str,
               password: str) -> str:
    change, done = CONFIRMED[action]
    extra = {"password": password} if action == "reset_password" else {}
    _change(session, actor=actor, change=change, email=email, **extra)
    return done.format(who=who)


class AdminUsersState(PageFeedback, AuthState):
    loaded: bool = False
    rows: list[UserRow] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    filters: dict[str, str] = {}  # the search form as last applied
    values: dict[str, str] = {}  # the add form, kept after a mistake (never the password)
    new_role: str = ""  # the role chosen in the add form: School shows only for schools
    school_options: list[list[str]] = []  # [URN, "Name (URN 107999)"]
    created_name: str = ""
    created_email: str = ""
    created_role: str = ""
    # The action waiting for "Yes": disable | reset_password | reset_mfa, and whose account.
    pending_action: str = ""
    pending_id: int = 0
    pending_name: str = ""
    pending_email: str = ""
    _target: str = ""  # that account's email, server-side only

    message_id: ClassVar[str] = "users-message"

    # ----- the adapter's hooks -----------------------------------------------------------

    def _clear_feedback(self) -> None:
        super()._clear_feedback()
        self.created_name, self.created_email, self.created_role = "", "", ""

    def _after_not_found(self, actor: Actor):
        self._clear_pending()
        return self._show_problem(NO_ACCOUNT)

    def _after_refusal(self, actor: Actor, exc: ServiceError) -> None:
        self._clear_pending()

    def _after_success(self, actor: Actor, result) -> None:
        """An account changed: the question is answered, and the list shows it as it now is."""
        self._clear_pending()
        with session_scope() as session:
            self._list(session, actor, self.page)

    # ----- helpers -------------------------------------------------------------------------

    def _clear_pending(self) -> None:
        self.pending_action, self.pending_id, self.pending_name, self.pending_email = "", 0, "", ""
        self._target = ""

    def _list(self, session, actor: Actor, number: int, filters: dict | None = None) -> None:
        """One page of the list; `filters` become the applied ones once the service takes
        them."""
        f = self.filters if filters is None else filters
        found = users.list_users(
            session, actor=actor, query=f.get("search", ""), role=f.get("filter_role", ""),
            status=f.get("filter_status", ""), page=number,
        )
        if filters is not None:
            self.filters = filters
        self.rows, self.page, self.pages, self.total = (
            found.rows, found.page, found.pages, found.total
        )

    def _first_visit(self, session, actor: Actor) -> None:
        self.school_options = [
            [urn, label] for urn, label in users.school_choices(session, actor=actor)
        ]
        self._list(session, actor, 1)
        self.loaded = True

    def _row(self, user_id) -> UserRow | None:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return None
        return next((r for r in self.rows if r.id == user_id), None)

    def _added(self, result: tuple[tuple[str, str, str], Actor]):
        created, actor = result
        self.created_name, self.created_email, self.created_role = created
        self.values, self.new_role = {}, ""
        with session_scope() as session:
            self._list(session, actor, self.page)
        return rx.call_script(focus_script("account-added"))

    # ----- handlers ------------------------------------------------------------------------

    @rx.event
    @page_load(Capability.ACCOUNTS_MANAGE, fresh=True)
    def load(self):
        return self._first_visit

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE)
    def search(self, form_data: dict):
        self._clear_pending()
        data = forms.prefixed_fields(form_data, "")
        wanted = {k: data.get(k, "").strip()[:200] for k in FILTERS}
        return partial(self._list, number=1, filters=wanted)

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE, invalid="That page does not exist.")
    def go_to_page(self, number: int):
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        return partial(self._list, number=number)

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE, quiet=True)
    def set_new_role(self, value: str):
        """The add form's Role changed: show School for a school account only."""
        value = value if isinstance(value, str) and value in ROLE_CHOICES else ""
        if self.new_role != value:
            self.new_role = value

    @rx.event(background=True)
    @handler(Capability.ACCOUNTS_MANAGE, then=_added)
    async def add_account(self, form_data: dict):
        """A background event: the password is hashed (argon2) in the adapter's worker
        thread, never on the event loop."""
        data = forms.prefixed_fields(form_data, "")
        values = {k: data.get(k, "").strip()[:300] for k in ADD_FIELDS}
        password = data.pop("password", "")
        if values["role"] != Role.SCHOOL:
            values["school_urn"] = ""
        async with self:
            self._clear_pending()
            # After a mistake the form comes back as typed, except the password: the new key
            # redraws it with the password input empty.
            self.values, self.new_role = values, values["role"]
            self.form_key += 1
        return partial(_add, values=values, password=password)

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE)
    def choose_action(self, action: str, user_id: int):
        """A row's Disable, Reset password or Reset authentication app: ask to confirm."""
        self._clear_pending()
        row = self._row(user_id)
        if action not in CONFIRMED or row is None:
            return self._show_problem(NO_ACCOUNT)
        if action == "disable" and row.is_you:
            return self._show_problem(auth.CANNOT_DISABLE_YOURSELF)
        self.pending_action, self.pending_id = action, row.id
        self.pending_name, self.pending_email, self._target = row.name, row.email, row.email
        self.form_key += 1
        return rx.call_script(focus_script("confirm-action"))

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE)
    def cancel_action(self):
        self._clear_pending()

    @rx.event(background=True)
    @handler(Capability.ACCOUNTS_MANAGE, done=str, field_ids={"password": "new_password"})
    async def confirm_action(self, form_data: dict):
        """"Yes" to the action waiting for confirmation (a new password comes with it). A
        background event: a new password is hashed in the adapter's worker thread."""
        async with self:
            action, email = self.pending_action, self._target
            if action not in CONFIRMED or not email:
                self._clear_pending()
                return self._show_problem("Choose an account in the list first.")
            self.form_key += 1  # empties the new password input, whatever the answer
            who = f"{self.pending_name} ({email})"
        return partial(
            _confirmed, action=action, email=email, who=who,
            password=forms.prefixed_fields(form_data, "").get("new_password", ""),
        )

    @rx.event
    @handler(Capability.ACCOUNTS_MANAGE, done=lambda user: (
        f"Account enabled for {user.name} ({user.email}). They can sign in again with their "
        "password."))
    def enable_account(self, user_id: int):
        self._clear_pending()
        row = self._row(user_id)
        if row is None:
            return self._show_problem(NO_ACCOUNT)
        return partial(_change, change=auth.enable_user, email=row.email)


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


def _select(name: str, label: str, choices: dict[str, str], everything: str) -> rx.Component:
    return forms._group(
        S.errors, name,
        rx.el.label(label, html_for=name, class_name="label"),
        forms._error(S.errors, name),
        rx.el.select(
            rx.el.option(everything, value=""),
            *[rx.el.option(text, value=value) for value, text in choices.items()],
            id=name, name=name, default_value=S.filters[name].to(str),
            aria_describedby=f"{name}-error",
            class_name=rx.cond(S.errors.contains(name), "select select--error", "select"),
        ),
    )


def _filters() -> rx.Component:
    return rx.el.form(
        rx.el.h2("Find accounts", id="find-accounts"),
        rx.el.div(
            forms.text_field("search", "Search by name or email", S.filters, S.errors),
            _select("filter_role", "Role", ROLE_CHOICES, "All roles"),
            _select("filter_status", "Status", users.STATUS_CHOICES, "Active and disabled"),
            class_name="audit-filters users-filters",
        ),
        rx.el.div(
            rx.el.button("Search", type="submit", class_name="button"),
            rx.el.a("Clear search", href=routes.ADMIN_USERS, class_name="button-group__link"),
            class_name="button-group button-group--tight",
        ),
        on_submit=S.search,
        reset_on_submit=False,
        no_validate=True,
        # The browser would put back the last choices on a reload, over the filters applied.
        auto_complete="off",
        # Drawn again whenever the applied filters change (a search, a new visit): the fields'
        # default values only count when they are first drawn.
        key=S.filters.to_string(),
        aria_labelledby="find-accounts",
        role="search",
    )


def _actions(r: rx.Var) -> rx.Component:
    """The row's actions in a menu (a disclosure): nothing red leads the row, and each action
    is asked about before it is done (`_confirm`)."""
    def button(text: str, on_click, kind: str = "") -> rx.Component:
        return rx.el.li(rx.el.button(
            text, type="button", on_click=on_click, aria_label=text + " for " + r.name,
            class_name=f"row-menu__action {kind}".strip(),
        ))

    return rx.cond(
        r.is_you,
        rx.el.span("Your account", class_name="hint"),
        rx.el.details(
            rx.el.summary("Actions", rx.el.span(" for ", r.name, class_name="visually-hidden"),
                          class_name="row-menu__summary"),
            rx.el.ul(
                button("Reset password", S.choose_action("reset_password", r.id)),
                rx.cond(
                    r.mfa_set_up,
                    button("Reset authentication app", S.choose_action("reset_mfa", r.id)),
                ),
                rx.cond(
                    r.active,
                    button("Disable account", S.choose_action("disable", r.id),
                           "row-menu__action--warning"),
                    button("Enable account", S.enable_account(r.id)),
                ),
                class_name="row-menu__list",
            ),
            class_name="row-menu",
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
    """First on the page, and compact: two fields a row on a wide screen."""
    return rx.el.section(
        rx.el.h2("Add an account", id="add-account"),
        rx.el.form(
            rx.el.div(
                forms.text_field("email", "Email", S.values, S.errors, input_type="email",
                                 hint="Their work email address. They sign in with it."),
                forms.text_field("name", "Full name", S.values, S.errors),
                class_name="grid-2",
            ),
            rx.el.div(
                forms.select_field("role", "Role", ROLE_CHOICES, S.values, S.errors,
                                   on_change=S.set_new_role),
                rx.cond(
                    S.new_role == "school",
                    forms.select_field("school_urn", "School", S.school_options, S.values,
                                       S.errors,
                                       hint="The school this person works at, by name and URN."),
                ),
                class_name="grid-2",
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
        class_name="section users-add",
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
                _add_form(),
                _filters(),
                _confirm(),
                rx.el.h2("Accounts", id="accounts"),
                rx.cond(
                    S.total == 0,
                    rx.el.p("No accounts match this search."),
                    rx.fragment(_table(), _pager()),
                ),
            ),
        ),
    )
