"""Closure outcomes are data: each is one ClosureOutcome entry, and everything about closing
reads the entry (labels, evidence, blockers, the school's words, the dashboard's colour)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from cme_app.domain import OPEN_STAGES, Outcome, Stage
from cme_app.errors import ValidationFailed
from cme_app.services.casework import closure
from cme_app.services.casework.closure import OUTCOMES, ClosureOutcome, EvidenceField
from cme_app.services.casework.lifecycle import MoveRefused
from cme_app.services.reporting import reports
from tests.factories import make_case


def test_every_outcome_is_one_complete_entry():
    assert set(OUTCOMES) == set(Outcome)
    for code, outcome in OUTCOMES.items():
        assert outcome.code == code
        assert outcome.label and outcome.school_text, code
        assert re.fullmatch(r"#[0-9a-f]{6}", outcome.colour), code
        assert set(outcome.from_stages) <= set(OPEN_STAGES), code
        assert {f.kind for f in outcome.fields} <= {"text", "textarea", "date", "urn",
                                                    "case_ref", "registration", "yesno"}, code
    # The dashboard's "child located" count reads the same flags.
    assert {c for c, o in OUTCOMES.items() if o.locates_child} == reports.LOCATING_OUTCOMES


def test_an_added_outcome_needs_only_its_entry(session, case, monkeypatch):
    """A new outcome, with its own evidence and blocker, works end to end once it is in the
    table: no if-chain, label map or school-text map to edit elsewhere."""
    seen = []

    def needs_a_signed_form(session_, case_, today):
        seen.append(case_.reference)
        return "Upload the signed form first."

    extra = ClosureOutcome(
        "moved_to_scotland", "Moved to Scotland", "The child now lives in Scotland.", "#12ab34",
        (Stage.ENQUIRIES, Stage.HOME_VISIT),
        (EvidenceField("council", "Council", "text"),),
        blockers=(needs_a_signed_form,),
    )
    monkeypatch.setitem(OUTCOMES, extra.code, extra)

    assert closure.outcome_label("moved_to_scotland") == "Moved to Scotland"
    assert closure.school_outcome_text("moved_to_scotland") == "The child now lives in Scotland."
    assert closure.clean_evidence("moved_to_scotland", {"council": " Fife ", "x": "y"}) == {
        "council": "Fife"}
    assert closure.closure_blockers(session, case=case, outcome="moved_to_scotland",
                                    today=date.today()) == ["Upload the signed form first."]
    assert seen == [case.reference]


def test_an_outcome_is_refused_from_a_stage_it_does_not_close_from(session, team):
    """Untraceable closes only after enquiries: from New referral the entry's stages say no."""
    case = make_case(session, stage="new_referral")
    session.commit()
    with pytest.raises(MoveRefused, match="can't be closed as 'Untraceable"):
        closure.close_case(session, actor=team["lead"], reference=case.reference,
                           outcome=Outcome.UNTRACEABLE,
                           evidence={"off_roll_date": date.today().isoformat()},
                           version=case.version)
    with pytest.raises(ValidationFailed):  # its evidence field is required
        closure.close_case(session, actor=team["lead"], reference=case.reference,
                           outcome=Outcome.UNTRACEABLE, evidence={}, version=case.version)
