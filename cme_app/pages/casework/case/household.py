"""The child and household, and the original referral."""

from __future__ import annotations

import reflex as rx

from ....components import content


def child(c: rx.Var) -> rx.Component:
    return content.section(
        "child", "Child and household",
        content.summary_list(c.child_rows),
        rx.el.h3("Addresses"),
        content.field_table(
            [("Type", "kind"), ("Address", "address"), ("Source", "source"),
             ("From", "from_date")],
            c.addresses, empty="No address known."),
        rx.el.h3("People"),
        content.field_table(
            [("Name", "name"), ("Relationship", "relationship"), ("Phone", "phone"),
             ("Lives with the child", "lives_with_child")],
            c.people, empty="No people recorded."),
        rx.cond(
            c.links.length() > 0,
            rx.fragment(
                rx.el.h3("Linked cases"),
                content.stacked_table(
                    ["Case", "Link", "Reason"], c.links,
                    lambda r: [rx.el.a(r.reference, href="/cases/" + r.reference), r.kind,
                               r.reason],
                    empty=""),
            ),
        ),
    )


def referral(c: rx.Var) -> rx.Component:
    return content.section(
        "referral", "Original referral",
        rx.el.dl(
            content.summary_row("Source", c.source_label),
            rx.cond((c.school_name != "") & (c.school_name != c.source_label),
                    content.summary_row("School", c.school_name)),
            class_name="summary-list",
        ),
        rx.cond(c.referrer_rows.length() > 0,
                rx.fragment(rx.el.h3("Referrer"), content.summary_list(c.referrer_rows))),
        # The referral as sent is long and read once: shown on request, so the tab stays short.
        content.disclosure("What the referral says", content.summary_list(c.referral_rows)),
        content.disclosure(
            "Enquiries the referrer made",
            content.field_table(
                [("Enquiry", "enquiry"), ("Date", "made_on"), ("Who", "contacted"),
                 ("How", "method"), ("Result", "result")],
                c.referral_enquiries, empty="None recorded."),
        ),
    )
