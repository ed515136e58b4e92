"""The referral form's section pages: one topic per page (see referral_state.py)."""

from __future__ import annotations

import reflex as rx

from ...components import forms
from ...domain import DELETION_GROUNDS, GROUND_I_CONFIRMATION, ground_words
from ...services.intake import referral_form as rf
from . import referral_tasks as rt
from .referral_state import ReferralFormState as S

GROUNDS = {g: ground_words(g) for g in DELETION_GROUNDS}


def _hint(text: str) -> rx.Component:
    return rx.el.p(text, class_name="hint")


def _about_you() -> rx.Component:
    return rx.fragment(
        forms.text_field("referrer_name", "Your name", S.values, S.errors, width="input--w20",
                         autocomplete="name"),
        forms.text_field("referrer_job_title", "Job title", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("referrer_phone", "Phone number", S.values, S.errors, input_type="tel",
                         width="input--w20", autocomplete="tel"),
        forms.text_field("referrer_email", "Email address", S.values, S.errors,
                         input_type="email", width="input--w20", autocomplete="email"),
    )


def _child() -> rx.Component:
    dob_given = S.values["date_of_birth"].to(str) != ""
    return rx.fragment(
        forms.text_field("first_name", "First name", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("middle_names", "Middle names (optional)", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("last_name", "Last name", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("known_as", "Other names used (optional)", S.values, S.errors,
                         hint="Aliases, previous surnames and other spellings"),
        forms.date_input("date_of_birth", "Date of birth", S.values, S.errors),
        # Only under a date given and questioned: a child outside compulsory school age.
        rx.cond(
            dob_given & (S.errors.contains("date_of_birth")
                         | (S.values["dob_confirmed"].to(str) == "on")),
            forms.checkbox("dob_confirmed", "The date of birth is correct", S.values,
                           hint="Tick this to refer a child outside compulsory school age."),
        ),
        forms.radios("sex", "Sex", rf.SEX_CHOICES, S.values, S.errors),
        forms.text_field("upn", "UPN", S.values, S.errors, width="input--w10",
                         hint="Unique pupil number: 13 characters, like A383200012401. "
                         "Needed if the child is or was on your roll."),
        forms.text_field("first_language", "First language (optional)", S.values, S.errors,
                         width="input--w20"),
        rx.el.div(
            forms.checkbox("interpreter_needed",
                           "An interpreter is needed to speak with the family (optional)",
                           S.values),
            forms.checkbox("traveller_family", "Gypsy, Roma or Traveller family (optional)",
                           S.values),
            class_name="choices form-group",
        ),
        forms.select_field("sen_status", "Special educational needs", rf.SEN_CHOICES, S.values,
                           S.errors),
    )


def _address_row(rid: rx.Var, index: rx.Var) -> rx.Component:
    p = "address-" + rid
    return rx.el.fieldset(
        rx.el.legend("Other address ", (index + 1).to(str), class_name="legend legend--s"),
        forms.select_field(p + "-kind", "Type of address", rf.ADDRESS_KIND_CHOICES, S.values,
                           S.errors),
        forms.text_field(p + "-line1", "Address", S.values, S.errors),
        forms.text_field(p + "-town", "Town or city (optional)", S.values, S.errors),
        forms.text_field(p + "-postcode", "Postcode or zip code (optional)", S.values,
                         S.errors, width="input--w10"),
        forms.text_field(p + "-country", "Country (optional)", S.values, S.errors,
                         width="input--w20", hint="Leave blank for the United Kingdom"),
        forms.select_field(p + "-source", "Where this address came from (optional)",
                           rf.ADDRESS_SOURCE_CHOICES, S.values, S.errors),
        rx.el.button("Remove this address", type="button", class_name="button button--secondary",
                     on_click=S.remove_row("address", rid)),
        key=rid,
        class_name="row-card fieldset",
    )


def _addresses() -> rx.Component:
    return rx.fragment(
        forms.text_field("home_line1", "Home address", S.values, S.errors,
                         hint="The child's last known address: building and street"),
        forms.text_field("home_line2", "Address line 2 (optional)", S.values, S.errors),
        forms.text_field("home_town", "Town or city (optional)", S.values, S.errors,
                         width="input--w20"),
        forms.text_field("home_postcode", "Postcode", S.values, S.errors, width="input--w10"),
        rx.el.h2("Other addresses (optional)", class_name="heading-m"),
        _hint("Add previous addresses from the last 2 years, and any new address the family "
              "may have moved to."),
        rx.foreach(S.address_rows, _address_row),
        rx.el.button("Add an address", type="button", class_name="button button--secondary",
                     on_click=S.add_row("address")),
    )


def _person_row(rid: rx.Var, index: rx.Var) -> rx.Component:
    p = "person-" + rid
    # "Add at least one parent or carer": the first person's box is where one goes, so its
    # questions are marked with the error too.
    first_missing = (index == 0) & S.errors.contains("add-person")
    return rx.el.fieldset(
        rx.el.legend("Person ", (index + 1).to(str), class_name="legend legend--s"),
        forms.select_field(p + "-kind", "Who is this?", rf.PERSON_KIND_CHOICES, S.values,
                           S.errors),
        forms.text_field(p + "-full_name", "Full name", S.values, S.errors),
        forms.text_field(p + "-relationship", "Relationship to the child", S.values,
                         S.errors, hint="For example mother, stepfather, brother, aunt"),
        forms.text_field(p + "-phone", "Phone number", S.values, S.errors, input_type="tel",
                         width="input--w20",
                         hint="Needed for a parent or carer the child lives with"),
        forms.text_field(p + "-email", "Email address (optional)", S.values, S.errors,
                         input_type="email", width="input--w20"),
        forms.date_input(p + "-date_of_birth", "Date of birth (optional)", S.values, S.errors),
        forms.text_field(p + "-school_name", "Their school, for siblings (optional)",
                         S.values, S.errors),
        rx.el.fieldset(
            rx.el.legend("Select any that apply (optional)", class_name="legend legend--s"),
            rx.el.div(
                forms.checkbox(p + "-lives_with_child", "The child lives with this person",
                               S.values),
                forms.checkbox(p + "-parental_responsibility", "Has parental responsibility",
                               S.values),
                forms.checkbox(p + "-emergency_contact", "Is an emergency contact", S.values),
                class_name="choices",
            ),
            class_name="fieldset form-group",
        ),
        rx.cond(
            S.person_rows.length() > 1,
            rx.el.button("Remove this person", type="button",
                         class_name="button button--secondary",
                         on_click=S.remove_row("person", rid)),
        ),
        key=rid,
        class_name=rx.cond(first_missing, "row-card row-card--error fieldset",
                           "row-card fieldset"),
        aria_describedby=rx.cond(first_missing, "add-person-error", ""),
    )


def _people() -> rx.Component:
    return rx.fragment(
        _hint("Include every parent or carer, other people in the household such as siblings, "
              "and friends or relatives who may know where the child is."),
        rx.el.div(
            forms._error(S.errors, "add-person"),
            rx.foreach(S.person_rows, _person_row),
            class_name=rx.cond(S.errors.contains("add-person"),
                               "form-group form-group--error", "form-group"),
        ),
        rx.el.button("Add another person", type="button", id="add-person", tab_index=0,
                     class_name="button button--secondary", on_click=S.add_row("person")),
    )


def _absence() -> rx.Component:
    never = (S.on_roll == "never_started") | (S.category == "failed_to_start")
    return rx.fragment(
        forms.radios("on_roll_status", "Is the child on your school roll?", rf.ON_ROLL_CHOICES,
                     S.values, S.errors, inline=False, on_change=S.set_on_roll),
        rx.cond(S.on_roll == "deleted", rx.fragment(
            forms.date_input("roll_deleted_on", "Date removed from your roll", S.values,
                             S.errors),
            forms.select_field("roll_deletion_ground", "Ground you removed the child under",
                               GROUNDS, S.values, S.errors),
        )),
        forms.select_field("category", "Why are you referring the child?",
                           rf.CATEGORY_CHOICES, S.values, S.errors, on_change=S.set_category),
        rx.cond(
            S.category == "not_returned_after_leave",
            forms.date_input("leave_ends_on", "Date the agreed leave ended (optional)",
                             S.values, S.errors,
                             hint="Only if the school agreed a leave of absence"),
        ),
        rx.cond(
            never,
            forms.date_input("expected_start_date", "Date the child was expected to start",
                             S.values, S.errors),
            forms.date_input("date_last_attended", "Date last attended", S.values, S.errors),
        ),
        forms.date_input("date_school_aware", "Date school became aware", S.values, S.errors,
                         hint="When the school knew the child was missing. Refer within 4 "
                         "weeks of this date."),
        forms.text_field("absence_days", "Days of unauthorised absence so far (optional)",
                         S.values, S.errors, width="input--w10", input_mode="numeric"),
        forms.text_field("absence_codes", "Attendance codes used (optional)", S.values,
                         S.errors, width="input--w10", hint="For example G, N or O"),
        forms.radios("absence_codes_confirmed", GROUND_I_CONFIRMATION + " (optional)",
                     rf.YES_NO, S.values, S.errors, hint="Needed if you intend to use, or used, "
                     "ground I (20 school days' continuous absence)"),
        rx.el.div(
            forms.checkbox("history_of_non_attendance",
                           "The child has a history of poor attendance or term-time leave "
                           "(optional)", S.values),
            class_name="form-group",
        ),
        forms.textarea_field("believed_destination",
                             "Where do you think the child may be? (optional)", S.values,
                             S.errors, hint="A new address, area, country or school, and how "
                             "you know"),
        forms.select_field("proposed_deletion_ground",
                           "Deletion ground you intend to use (optional)", GROUNDS, S.values,
                           S.errors),
    )


def _enquiry_checks() -> rx.Component:
    """First: which checks were done (the details come on the next page)."""
    return rx.el.div(
        rx.el.fieldset(
            rx.el.legend("Which checks have you done?", class_name="legend legend--s"),
            _hint("Select all that apply. Next you give the details of each check on its own "
                  "page, then the reason for any you could not do."),
            rx.el.div(
                *[rx.el.div(
                    rx.el.input(type="checkbox", id=f"done-{k.code}", name=f"done-{k.code}",
                                default_checked=S.done_checks.contains(k.code)),
                    rx.el.label(k.label, html_for=f"done-{k.code}"),
                    class_name="choice",
                ) for k in rt.CHECKS],
                class_name="choices",
            ),
            class_name="fieldset",
        ),
        class_name="form-group",
    )


def _check_details() -> rx.Component:
    """One check's page: the date, who was contacted, how, and what happened."""
    p = "enquiry-" + S.check_row[0].to(str)
    return rx.cond(
        S.check_row.length() > 0,
        rx.el.div(
            forms.date_input(p + "-made_on", "Date of the check", S.values, S.errors),
            forms.select_field(p + "-time_of_day", "Time of day (optional)",
                               rf.TIME_OF_DAY_CHOICES, S.values, S.errors),
            forms.text_field(p + "-contacted", "Who was contacted", S.values, S.errors,
                             hint="Name and relationship, or the place visited"),
            forms.select_field(p + "-method", "How", rf.METHOD_CHOICES, S.values, S.errors),
            forms.textarea_field(p + "-result", "Result", S.values, S.errors, rows=3),
            key=S.check_row[0].to(str),
        ),
        rx.el.p("You have not said that any checks were done."),
    )


def _reason(check: rx.Var) -> rx.Component:
    return forms.textarea_field("reason-" + check[0], "Why this was not possible: " + check[1],
                                S.values, S.errors, rows=2)


def _enquiry_reasons() -> rx.Component:
    return rx.fragment(
        _hint("The CME team expects these checks before a referral. Say why each was not "
              "possible."),
        rx.foreach(S.reasons_needed, _reason),
    )


def _concerns() -> rx.Component:
    return rx.fragment(
        rx.el.div(
            rx.el.fieldset(
                rx.el.legend("Do you have any of these concerns about the child?",
                             class_name="legend legend--s"),
                _hint("Select all that apply."),
                forms._error(S.errors, "concern-safeguarding"),
                rx.el.div(
                    *[forms.checkbox(f"concern-{code}", label, S.values)
                      for code, label in rf.CONCERNS.items()],
                    rx.el.p("or", class_name="hint"),
                    forms.checkbox(f"concern-{rf.NONE_KNOWN}", "None known", S.values),
                    class_name="choices",
                ),
                class_name="fieldset",
            ),
            id="concern-group",
            class_name=rx.cond(S.errors.contains("concern-safeguarding"),
                               "form-group form-group--error", "form-group"),
        ),
        forms.textarea_field("concerns_narrative",
                             "Describe the concerns (optional if none are known)", S.values,
                             S.errors, hint="Say what you know and how you know it."),
    )


def _social_worker() -> rx.Component:
    """For a child already open to social care: who was told, and when."""
    return rx.el.div(
        rx.el.h2("If the child is open to social care now", class_name="heading-m"),
        forms.radios("social_worker_told", "Have you told the child's social worker?",
                     rf.YES_NO, S.values, S.errors),
        forms.date_input("social_worker_told_on", "Date you told the social worker", S.values,
                         S.errors),
        forms.radios("virtual_school_told", "For a child in care: have you told the virtual "
                     "school?", rf.YES_NO, S.values, S.errors),
        forms.date_input("virtual_school_told_on", "Date you told the virtual school",
                         S.values, S.errors),
        class_name="row-card",
    )


def _safeguarding() -> rx.Component:
    return rx.fragment(
        _hint("If the child is open to social care, tell their social worker now (and the "
              "virtual school for a child in care). If you fear for a child's safety and they "
              "are not open to social care, contact the Front Door now. This referral does not "
              "replace either."),
        forms.text_field("dsl_name", "Name of the designated safeguarding lead", S.values,
                         S.errors, width="input--w20"),
        forms.radios("known_to_csc", "Is the child known to children's social care?",
                     rf.CSC_CHOICES, S.values, S.errors, inline=False,
                     hint="Open to social care now means a child in need, child protection or "
                     "looked after (in care) case",
                     on_change=lambda v: S.set_care("known_to_csc", v)),
        forms.radios("cp_plan", "Does the child have a child protection plan?", rf.YNU_CHOICES,
                     S.values, S.errors, on_change=lambda v: S.set_care("cp_plan", v)),
        forms.radios("child_in_need", "Is the child a child in need?", rf.YNU_CHOICES, S.values,
                     S.errors, on_change=lambda v: S.set_care("child_in_need", v)),
        forms.radios("looked_after", "Is the child looked after (in care)?", rf.YNU_CHOICES,
                     S.values, S.errors, on_change=lambda v: S.set_care("looked_after", v)),
        forms.radios("significant_harm", "Do you suspect the child is at risk of significant "
                     "harm?", rf.YNU_CHOICES, S.values, S.errors),
        # Only for a child open to social care: who was told, and when.
        rx.cond(S.open_to_care, _social_worker()),
        forms.date_input("mash_referred_on", "Date referred to the Front Door (MASH)",
                         S.values, S.errors, hint="For a new concern: if you have referred the "
                         "child"),
        forms.text_field("mash_reference", "Front Door reference (optional)", S.values,
                         S.errors, width="input--w20"),
        forms.textarea_field("dsl_appraisal", "Appraisal of the risk to the child", S.values,
                             S.errors),
    )


PAGE_BODIES = {
    "about-you": _about_you, "child": _child, "addresses": _addresses, "people": _people,
    "absence": _absence, "enquiries": _enquiry_checks, rt.DETAILS: _check_details,
    rt.REASONS: _enquiry_reasons,
    "concerns": _concerns, "safeguarding": _safeguarding,
}
PAGE_TITLES = {
    **{s.key: s.title for s in rt.SECTIONS},
    rt.REASONS: "Checks you could not do",
}


def body() -> rx.Component:
    """The page the address names."""
    return rx.match(S.section, *[(key, make()) for key, make in PAGE_BODIES.items()],
                    rx.fragment())
