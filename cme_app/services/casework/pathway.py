"""The LA's enquiry pathway vocabulary (BR-L6) and the untraceable checklist."""

from __future__ import annotations

from ..forms import YES_NO, Form

ENQUIRY_KINDS: dict[str, str] = {
    "csws": "Social care systems (CSWS)",
    "education_db": "Education and admissions databases, including the EHE register",
    "health": "Health (school nurse, GP, health visitor)",
    "housing": "Housing or landlord",
    "council_tax": "Council tax",
    "benefits": "Benefits or DWP",
    "home_office": "Border Force or Home Office",
    "police": "Police",
    "youth_justice": "Youth Justice",
    "send": "SEND team",
    "other_la": "Another local authority's CME team",
    "overseas": "School abroad or overseas agency",
    "online": "Search engines and social media",
    "family": "Phone family, relatives or friends",
    "professionals": "Phone other professionals",
    "letter": "Letter to last known address",
    "s2s_lpd": "S2S Lost Pupils Database search",
    "neighbours": "Neighbours",
}

ENQUIRY_METHODS: dict[str, str] = {
    "phone": "Phone",
    "email": "Email",
    "letter": "Letter",
    "system": "System lookup",
    "visit": "Visit",
}

ENQUIRY_RESULTS: dict[str, str] = {
    "no_trace": "No trace",
    "trace_found": "Trace found",
    "pending": "Information pending",
    "refused": "Refused",
    "not_applicable": "Not applicable",
}

# SC-14: the checks an untraceable closure needs; any one kind in a group satisfies it.
UNTRACEABLE_CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Social care systems (CSWS)", ("csws",)),
    ("Education and admissions databases", ("education_db",)),
    ("Health", ("health",)),
    ("Housing or council tax", ("housing", "council_tax")),
    ("Benefits or DWP", ("benefits",)),
    ("Border Force or Home Office", ("home_office",)),
    ("S2S Lost Pupils Database search", ("s2s_lpd",)),
)

VISIT_OUTCOMES: dict[str, str] = {
    "child_seen_safe": "Child seen and safe",
    "parent_seen_child_not": "Parent or carer seen, child not seen",
    "no_reply_occupied": "No reply, property appears occupied",
    "no_reply_vacant": "No reply, property appears vacant",
    "new_occupants": "New occupants, family moved",
    "refused": "Refused engagement",
    "wrong_address": "Wrong address or address does not exist",
    "aborted": "Visit aborted (safety)",
}
# A visit record asks "Child seen" first: seen gives this outcome; not seen asks for one of the
# rest (the phone's visit log and the case page's desk form alike).
CHILD_SEEN_OUTCOME = "child_seen_safe"
NOT_SEEN_OUTCOMES = {k: v for k, v in VISIT_OUTCOMES.items() if k != CHILD_SEEN_OUTCOME}


def seen_and_outcome(f: Form) -> tuple[str, bool, bool]:
    """"Child seen" is asked once and decides the outcome: seen is "Child seen and safe";
    not seen needs what happened instead. Returns the outcome, seen, and seen alone."""
    seen = f.choice("child_seen", YES_NO, "Say whether the child was seen")
    sent = str(f.data.get("outcome") or "")
    if seen == "yes":
        alone = f.choice("seen_alone", YES_NO, "Say whether the child was seen alone")
        if sent not in ("", CHILD_SEEN_OUTCOME):
            f.error("outcome", "The child was seen, so the outcome is "
                    f"“{VISIT_OUTCOMES[CHILD_SEEN_OUTCOME]}”")
        return CHILD_SEEN_OUTCOME, True, alone == "yes"
    if sent == CHILD_SEEN_OUTCOME and seen == "no":
        f.error("child_seen", "The outcome says the child was seen: choose Yes, or another outcome")
        return sent, False, False
    # Not seen (or not answered yet): what happened, from the outcomes without the child.
    outcome = f.choice("outcome", NOT_SEEN_OUTCOMES, "Choose the outcome of the visit") \
        if seen == "no" or sent else ""
    return outcome, False, False


SAFEGUARDING_AGENCIES: dict[str, str] = {
    "csc": "Children's social care (CSC)",
    "mash": "MASH",
    "front_door": "Front Door",
}
