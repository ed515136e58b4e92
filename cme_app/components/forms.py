"""GOV.UK-style form fields. Field `name` is also the element id, so error links can target it.

Fields are uncontrolled (`default_value`): the browser keeps what was typed, the server only
sees it on submit. `values` and `errors` are dict Vars keyed by field name.
"""

from __future__ import annotations

import reflex as rx
from reflex.vars import Var
from reflex.vars.base import VarData

from ..dates import uk_today

Name = str | Var
# The most any text field keeps (the services cut a value here, so the browser stops typing
# at it instead of losing the end silently). One field always fits in one event.
MAX_TEXT = 4000


def _error(errors: Var, name: Name) -> rx.Component:
    return rx.cond(
        errors.contains(name),
        rx.el.p(
            rx.el.span("Error: ", class_name="visually-hidden"),
            errors[name],
            id=f"{name}-error",
            class_name="error-message",
        ),
    )


def _described_by(name: Name, hint: str) -> Var | str:
    return f"{name}-hint {name}-error" if hint else f"{name}-error"


def _group(errors: Var, name: Name, *children) -> rx.Component:
    return rx.el.div(
        *children,
        class_name=rx.cond(errors.contains(name), "form-group form-group--error", "form-group"),
    )


def _hint(name: Name, hint: str) -> rx.Component:
    return rx.el.p(hint, id=f"{name}-hint", class_name="hint") if hint else rx.fragment()


def _field(errors: Var, name: Name, label, hint: str, control: rx.Component) -> rx.Component:
    """Label, hint, error message, then the control: the GOV.UK order."""
    return _group(
        errors,
        name,
        rx.el.label(label, html_for=name, class_name="label"),
        _hint(name, hint),
        _error(errors, name),
        control,
    )


def text_field(
    name: Name,
    label: str | Var,
    values: Var,
    errors: Var,
    *,
    hint: str = "",
    input_type: str = "text",
    width: str = "",
    autocomplete: str = "off",
    input_mode: str | None = None,
) -> rx.Component:
    extra = {"input_mode": input_mode, "spell_check": False} if input_mode else {}
    return _field(
        errors,
        name,
        label,
        hint,
        rx.el.input(
            id=name,
            name=name,
            type=input_type,
            default_value=values[name].to(str),
            max_length=MAX_TEXT,
            auto_complete=autocomplete,
            **extra,
            aria_describedby=_described_by(name, hint),
            class_name=rx.cond(
                errors.contains(name), f"input input--error {width}", f"input {width}"
            ),
        ),
    )


def date_field(name: Name, label: str | Var, values: Var, errors: Var, *, hint: str = ""):
    """A date as the GOV.UK date input, its boxes showing the date `values[name]` holds
    (YYYY-MM-DD); the handler adapter joins the boxes back into `name` (dates.join_date_boxes),
    so no page or service sees them."""
    born = isinstance(label, str) and "birth" in label
    example = f"For example, 27 3 {2014 if born else uk_today().year}"
    return date_input(name, label, values, errors, hint=hint or example, from_date=True)


def _date_part(values: Var, name: Name, index: int) -> Var:
    """One part of the YYYY-MM-DD date `values[name]` (0 year, 1 month, 2 day), as a person
    types it (no leading zero); "" when there is none. Written out because `values[name]` may
    be missing, which Reflex's own string operations don't allow for."""
    key = Var.create(name)
    part = f'((({values})?.[{key}] ?? "") + "").split("-")[{index}] ?? ""'
    if index:
        part = f'({part}).replace(/^0+(?=\\d)/, "")'
    return Var(_js_expr=f"({part})", _var_type=str,
               _var_data=VarData.merge(values._get_all_var_data(), key._get_all_var_data()))


def date_input(name: str | Var, legend: str | Var, values: Var, errors: Var, *,
               hint: str | None = None, from_date: bool = False) -> rx.Component:
    """The GOV.UK date input: Day, Month and Year boxes under one legend, the error on the
    group. The boxes are `<name>-day`, `-month`, `-year`; the group carries the id, so an
    error's link lands on it with its legend and message in view. `hint`: by default an
    example date; "" for none. The boxes show `values[<name>-day]` and so on, or with
    `from_date` the parts of the date `values[name]`."""
    hint = "For example, 27 3 2014" if hint is None else hint
    def box(part: str, label: str, width: str) -> rx.Component:
        box_id = name + "-" + part
        shown = (_date_part(values, name, ("year", "month", "day").index(part)) if from_date
                 else values[box_id].to(str))
        return rx.el.div(
            rx.el.label(label, html_for=box_id, class_name="label date-input__label"),
            rx.el.input(
                id=box_id, name=box_id, type="text", input_mode="numeric",
                default_value=shown, max_length=4 if part == "year" else 2,
                auto_complete="off", spell_check=False,
                class_name=rx.cond(errors.contains(name), f"input input--error {width}",
                                   f"input {width}"),
            ),
            class_name="date-input__item",
        )

    return _fieldset_group(
        name, legend, hint, errors,
        rx.el.div(box("day", "Day", "input--w2"), box("month", "Month", "input--w2"),
                  box("year", "Year", "input--w4"), class_name="date-input"),
        role="group", custom_attrs={"data-date-input": name},
    )


def textarea_field(
    name: Name, label: str | Var, values: Var, errors: Var, *, hint: str = "", rows: int = 4
) -> rx.Component:
    return _field(
        errors,
        name,
        label,
        hint,
        rx.el.textarea(
            id=name,
            name=name,
            rows=str(rows),
            default_value=values[name].to(str),
            max_length=MAX_TEXT,
            aria_describedby=_described_by(name, hint),
            class_name=rx.cond(errors.contains(name), "textarea textarea--error", "textarea"),
        ),
    )


def select_field(
    name: Name,
    label: str | Var,
    choices: dict[str, str] | Var,
    values: Var,
    errors: Var,
    *,
    hint: str = "",
    on_change=None,
) -> rx.Component:
    """`choices`: {value: text}, or a state Var holding [[value, text], ...]."""
    extra = {"on_change": on_change} if on_change is not None else {}
    options = (
        [rx.foreach(choices, lambda c: rx.el.option(c[1], value=c[0]))]
        if isinstance(choices, Var)
        else [rx.el.option(text, value=value) for value, text in choices.items()]
    )
    return _field(
        errors,
        name,
        label,
        hint,
        rx.el.select(
            rx.el.option("Select an option", value=""),
            *options,
            id=name,
            name=name,
            default_value=values[name].to(str),
            aria_describedby=_described_by(name, hint),
            class_name=rx.cond(errors.contains(name), "select select--error", "select"),
            **extra,
        ),
    )


def radios(
    name: str,
    legend: str,
    choices: dict[str, str],
    values: Var,
    errors: Var,
    *,
    hint: str = "",
    inline: bool = True,
    on_change=None,
) -> rx.Component:
    """A radio group. The group, not an option, carries the id: Reflex reads a form control
    with an id through its ref, and a radio's ref gives its value even when unchecked."""
    extra = {"on_change": on_change} if on_change is not None else {}
    options = []
    for value, text in choices.items():
        option_id = f"{name}-{value}"
        options.append(
            rx.el.div(
                rx.el.input(
                    type="radio",
                    id=option_id,
                    name=name,
                    value=value,
                    default_checked=values[name].to(str) == value,
                    **extra,
                ),
                rx.el.label(text, html_for=option_id),
                class_name="choice",
            )
        )
    return _fieldset_group(
        name, legend, hint, errors,
        rx.el.div(*options, class_name="choices choices--inline" if inline else "choices"),
    )


def _fieldset_group(name: str | Var, legend: str | Var, hint: str | None, errors: Var,
                    body: rx.Component, **fieldset_attrs) -> rx.Component:
    """A GOV.UK fieldset (legend, hint, error, then its controls) in its form group, which
    the error summary links to (`id=name`)."""
    return rx.el.div(
        rx.el.fieldset(
            rx.el.legend(legend, class_name="legend legend--s"),
            _hint(name, hint),
            _error(errors, name),
            body,
            class_name="fieldset",
            aria_describedby=_described_by(name, hint),
            **fieldset_attrs,
        ),
        id=name,
        tab_index=-1,
        class_name=rx.cond(errors.contains(name), "form-group form-group--error", "form-group"),
    )


def checkbox(name: Name, label: str | Var, values: Var, *, hint: str = "") -> rx.Component:
    return rx.el.div(
        rx.el.input(
            type="checkbox",
            id=name,
            name=name,
            default_checked=values[name].to(str) == "on",
            aria_describedby=f"{name}-hint" if hint else None,
        ),
        rx.el.div(
            rx.el.label(label, html_for=name),
            rx.el.p(hint, id=f"{name}-hint", class_name="hint") if hint else rx.fragment(),
        ),
        class_name="choice",
    )


def error_summary(error_list: Var) -> rx.Component:
    """'There is a problem' with one link per field error (list of [field, message])."""
    return rx.cond(
        error_list.length() > 0,
        rx.el.div(
            rx.el.h2("There is a problem", class_name="error-summary__title",
                     id="error-summary-title"),
            rx.el.ul(
                rx.foreach(
                    error_list,
                    lambda e: rx.el.li(rx.el.a(e[1], href="#" + e[0].to(str))),
                ),
                class_name="error-summary__list",
            ),
            id="error-summary",
            class_name="error-summary",
            role="alert",
            tab_index=-1,
            aria_labelledby="error-summary-title",
        ),
    )


FOCUS_ERROR_SUMMARY = (
    "window.setTimeout(() => { const s = document.getElementById('error-summary');"
    " if (s) { s.focus(); s.scrollIntoView(); } }, 50)"
)


def submitted(form_data: object) -> dict[str, str]:
    """A submitted form as trimmed strings, cut to size: any browser can send anything to a
    public handler, so at most 100 fields, names of 60 characters and values of 4,000."""
    if not isinstance(form_data, dict):
        return {}
    return {
        str(k)[:60]: ("" if v is None else str(v)).strip()[:4000]
        for k, v in list(form_data.items())[:100]
    }


def prefixed_fields(form_data: object, prefix: str) -> dict[str, str]:
    """One form's fields, without the form's id prefix, from a page with several forms.
    Anything a browser sends is cut to size: at most 100 fields of 4,000 characters."""
    if not isinstance(form_data, dict):
        return {}
    return {
        str(k)[len(prefix):]: ("" if v is None else str(v))[:4000]
        for k, v in list(form_data.items())[:100]
        if str(k).startswith(prefix)
    }


def ticked(value: object) -> bool:
    """A checkbox's submitted value."""
    return value is True or (isinstance(value, str) and value.lower() in ("on", "true"))
