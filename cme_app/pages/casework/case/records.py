"""The records officers keep on a case: the enquiry log, notifications to and from other LAs,
and overseas verification."""

from __future__ import annotations

import reflex as rx

from ....components import content, forms
from ....domain import INBOUND_REPLIES
from ....services.casework import pathway
from ....services.casework.case_file_types import CaseFile
from ....services.casework.records import OVERSEAS_EVIDENCE
from ....services.forms import YES_NO
from .parts import V, form
from .state import CaseState as S


def _enquiry_cells(r: rx.Var) -> list:
    return [
        r.done_on,
        rx.fragment(rx.el.strong(r.kind), rx.el.div(r.method, ": ", r.contacted,
                                                    class_name="body-s")),
        r.result,
        rx.el.span(r.summary, class_name="pre-line"),
        rx.cond(r.next_action != "", rx.fragment(r.next_action, rx.cond(
            r.next_action_due != "", rx.el.div("Due ", r.next_action_due, class_name="body-s")))),
        r.by,
    ]


def _enquiry_form() -> rx.Component:
    return content.disclosure(
        "Log an enquiry",
        form(
            forms.select_field("enq-kind", "Type of enquiry", pathway.ENQUIRY_KINDS, V, S.errors),
            rx.el.div(
                forms.date_field("enq-done_on", "Date of enquiry", V, S.errors),
                forms.select_field("enq-method", "How", pathway.ENQUIRY_METHODS, V, S.errors),
                class_name="grid-2",
            ),
            forms.text_field("enq-contacted", "Who was contacted", V, S.errors,
                             hint="The organisation or person, and their role"),
            forms.select_field("enq-result", "Result", pathway.ENQUIRY_RESULTS, V, S.errors),
            forms.textarea_field("enq-summary", "What you found out", V, S.errors, rows=3),
            rx.el.div(
                forms.text_field("enq-next_action", "Next action (optional)", V, S.errors),
                forms.date_field("enq-next_action_due", "Next action due (optional)", V,
                                 S.errors),
                class_name="grid-2",
            ),
            on_submit=S.log_enquiry,
            button="Log enquiry",
            key="e",
        ),
    )


def enquiries(c: rx.Var) -> rx.Component:
    return content.section(
        "enquiries", "Enquiry log",
        content.stacked_table(["Date", "Enquiry", "Result", "Summary", "Next action", "By"],
                              c.enquiries, _enquiry_cells, empty="No enquiries logged yet."),
        rx.cond(c.can.record, _enquiry_form()),
    )


def _response_form(n: rx.Var) -> rx.Component:
    prefix = "resp-" + n.id.to(str) + "-"
    return content.disclosure(
        "Record response",
        rx.el.form(
            rx.el.input(type="hidden", name="notification_id", value=n.id.to(str)),
            forms.date_field(prefix + "acknowledged_on", "Date acknowledged", V, S.errors),
            forms.date_field(prefix + "response_on", "Date of response", V, S.errors),
            forms.textarea_field(prefix + "response", "Their response", V, S.errors, rows=3),
            rx.el.button("Record response", type="submit", class_name="button"),
            key=S.form_key.to(str) + "resp" + n.id.to(str),
            on_submit=S.record_la_response,
            reset_on_submit=False,
            no_validate=True,
            aria_label="Record response from " + n.la_name,
        ),
    )


def _reply_form(n: rx.Var) -> rx.Component:
    """Another LA told us about a child: we answer them, so the form records what we sent."""
    prefix = "reply-" + n.id.to(str) + "-"
    return content.disclosure(
        "Record reply",
        rx.el.form(
            rx.el.input(type="hidden", name="notification_id", value=n.id.to(str)),
            forms.radios(prefix + "reply_kind", "What did the reply say?",
                         INBOUND_REPLIES, V, S.errors, inline=False),
            forms.date_field(prefix + "response_on", "Date sent", V, S.errors),
            forms.textarea_field(prefix + "response", "What the reply said", V, S.errors,
                                 rows=3, hint="For example the school and start date, or what "
                                 "the home visit found"),
            rx.el.button("Record reply", type="submit", class_name="button"),
            key=S.form_key.to(str) + "reply" + n.id.to(str),
            on_submit=S.record_la_reply,
            reset_on_submit=False,
            no_validate=True,
            aria_label="Record reply sent to " + n.la_name,
        ),
    )


def _outbound_answer(n: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(n.response_on != "", rx.el.div(rx.el.strong(n.response_on), rx.el.div(
            n.response, class_name="pre-line")), "No response yet"),
        rx.cond(S.case.to(CaseFile).can.notify_la & (n.response_on == ""), _response_form(n)),
    )


def _inbound_answer(n: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(
            n.response_on != "",
            rx.el.div(rx.el.strong(n.reply_kind), rx.el.div("Sent ", n.response_on),
                      rx.el.div(n.response, class_name="pre-line")),
            "No reply sent yet",
        ),
        rx.cond(n.outcome_sent != "", rx.el.div(
            rx.el.strong(n.outcome_sent), rx.el.div(n.outcome_text), class_name="la-outcome")),
        rx.cond(S.case.to(CaseFile).can.notify_la & (n.response_on == ""), _reply_form(n)),
    )


def _la_cells(n: rx.Var) -> list:
    return [
        rx.el.strong(n.direction, " ", n.la_name),
        n.sent_on,
        rx.fragment(n.response_due, rx.cond(n.response_overdue, rx.el.div(
            rx.el.strong("Response overdue", class_name="tag tag--red")))),
        rx.cond(n.inbound, "Not needed",
                rx.cond(n.acknowledged_on != "", n.acknowledged_on, "Not yet")),
        rx.cond(n.inbound, _inbound_answer(n), _outbound_answer(n)),
    ]


def _notify_form() -> rx.Component:
    return content.disclosure(
        "Notify another LA",
        form(
            rx.el.div(
                forms.text_field("la-la_name", "Local authority", V, S.errors,
                                 hint="For example Bradford"),
                forms.text_field("la-la_code", "DfE LA code (optional)", V, S.errors,
                                 width="input--w10", hint="3 digits, like 380"),
                class_name="grid-2",
            ),
            forms.text_field("la-contact", "CME contact at that LA", V, S.errors,
                             hint="Name and email or secure channel"),
            forms.textarea_field(
                "la-question", "What are you asking them?", V, S.errors, rows=3,
                hint="For example: Is the child known to you, on roll at one of your "
                "schools, or has a school place been applied for?",
            ),
            rx.el.p("The child's names, date of birth, UPN, last school, addresses and "
                    "household are sent with the notification.", class_name="hint"),
            on_submit=S.notify_la,
            button="Send notification",
            key="l",
        ),
    )


def other_las(c: rx.Var) -> rx.Component:
    return content.section(
        "la", "Notifications to and from other LAs",
        content.stacked_table(
            ["Local authority", "Sent or received", "Response due", "Acknowledged",
             "Response or our reply"],
            c.la_notifications, _la_cells, empty="No notifications to or from other LAs."),
        rx.cond(c.can.notify_la, _notify_form()),
    )


def _overseas_form() -> rx.Component:
    return content.disclosure(
        "Record overseas evidence",
        form(
            rx.el.div(
                forms.text_field("os-country", "Country", V, S.errors),
                forms.text_field("os-organisation", "School or agency abroad", V, S.errors),
                class_name="grid-2",
            ),
            forms.select_field("os-evidence_type", "Type of evidence", OVERSEAS_EVIDENCE, V,
                               S.errors),
            forms.radios("os-independent", "Is the evidence independent of the parent?",
                         YES_NO, V, S.errors,
                         hint="Independent means it came from the school or agency, "
                         "not through the family."),
            forms.date_field("os-received_on", "Date received", V, S.errors),
            forms.radios("os-translated", "Was it translated?", YES_NO, V, S.errors),
            forms.textarea_field("os-notes", "Notes (optional)", V, S.errors, rows=2),
            on_submit=S.record_overseas,
            button="Record evidence",
            key="os",
        ),
    )


def overseas(c: rx.Var) -> rx.Component:
    return content.section(
        "overseas", "Overseas verification",
        content.field_table(
            [("Country", "country"), ("School or agency", "organisation"),
             ("Evidence", "evidence"), ("Independent of the parent", "independent"),
             ("Received", "received_on"), ("Recorded by", "recorded_by")],
            c.overseas, empty="No overseas evidence recorded."),
        rx.cond(c.can.record, _overseas_form()),
    )
