"""The case file as the case page shows it: small, display-ready, typed rows (words, not
codes; dates already written the UK way). Nothing here reads the database."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..documents.types import DocumentsPart


@dataclass(frozen=True)
class Row:
    """One line of a summary list."""

    label: str
    value: str


@dataclass(frozen=True)
class CaseSummary:
    """The top of the case page: who the child is, where they were last known to live, and
    the one thing due next (from the response targets: services/casework/targets.py)."""

    name: str = ""
    born: str = ""  # "3 March 2015 (age 11)"
    address: str = ""  # the last known address, or "Not known"
    next_action: str = ""  # "First visit due by 9 December 2026"; "" when none is due
    next_action_state: str = ""  # overdue | today | due | ""


@dataclass(frozen=True)
class Choice:
    """One option of a select: the value sent back and what people read."""

    value: str
    label: str


@dataclass(frozen=True)
class FactorChoice:
    """A triage risk factor, and whether it is ticked now."""

    code: str
    label: str
    red: bool
    ticked: bool


@dataclass(frozen=True)
class RiskDecision:
    when: str
    risk: str
    kind: str  # Proposed | Triaged | Overridden | Reopened
    factors: str
    reason: str
    by: str


@dataclass(frozen=True)
class AddressRow:
    kind: str
    address: str
    source: str
    from_date: str


@dataclass(frozen=True)
class PersonRow:
    name: str
    relationship: str
    phone: str
    lives_with_child: str  # Yes | No


@dataclass(frozen=True)
class ReferrerEnquiry:
    """An enquiry the referrer made before referring."""

    enquiry: str
    made_on: str  # a date, or "Not possible"
    contacted: str
    method: str
    result: str


@dataclass(frozen=True)
class PossibleMatch:
    reference: str
    child_name: str
    why: str  # Same home address (same-child matches are ChildMatchRow)
    stage: str


@dataclass(frozen=True)
class EpisodeHistoryRow:
    """One CME episode of the child (their whole record, every case)."""

    start: str  # "5 Nov 2026", or "Not known"
    basis: str
    reason: str  # the primary reason now
    end: str  # "" while open
    end_reason: str
    case_reference: str  # "" if the episode belongs to no case


@dataclass(frozen=True)
class CaseHistoryRow:
    """One case of the child, this one included."""

    reference: str
    stage: str
    opened: str
    outcome: str  # "" while open
    this_case: bool


@dataclass(frozen=True)
class ChildMatchRow:
    """Another child record that may be this child, waiting for an officer's answer."""

    id: int
    name: str
    born: str
    upn: str  # "Not given"
    why: str  # Same UPN | Same name and date of birth | Same home address and surname
    cases: list[str]  # the other record's case references


@dataclass(frozen=True)
class ChildMergeRow:
    """A record merged into this child's (kept so a lead can undo it)."""

    id: int
    merged_on: str
    by: str
    name: str  # the merged record's name as it was given
    moved: str  # "1 case, 1 referral, 2 addresses"
    reason: str


@dataclass(frozen=True)
class LinkedCase:
    reference: str
    kind: str  # Same household | Duplicate
    reason: str


@dataclass(frozen=True)
class SafeguardingRow:
    kind: str
    agency: str
    when: str
    by: str
    reference: str
    notes: str


@dataclass(frozen=True)
class EnquiryRow:
    done_on: str
    kind: str
    method: str
    contacted: str
    result: str
    summary: str
    next_action: str
    next_action_due: str
    by: str


@dataclass(frozen=True)
class VisitRow:
    """One home visit as the case page shows it."""

    id: int
    heading: str  # "28 Nov 2026, AM"
    status: str  # in_progress | overdue | "" (ended, or logged afterwards at a desk)
    status_text: str  # "In progress – expected back 10:30"
    rows: list[Row]  # only what this visit holds
    notes: str  # facts observed
    opinion: str  # the officer's opinion, kept apart from the facts
    offline_note: str  # "Recorded offline, sent 10:31"
    flag_reason: str  # why a lead must look at it (the case changed while it was offline)
    flag_review: str  # "Reviewed by Lee Lead, 28 Nov 2026 11:02", or "" while waiting


@dataclass(frozen=True)
class LaNotificationRow:
    id: int
    direction: str  # To | From
    la_name: str
    sent_on: str
    response_due: str
    acknowledged_on: str
    response_on: str
    response: str
    response_overdue: bool
    # Another LA's notice to us: we reply (what the reply said), and tell them the outcome.
    inbound: bool = False
    reply_kind: str = ""  # "Not known to us"
    outcome_sent: str = ""  # "Outcome sent to Wakefield on 7 December 2026"
    outcome_text: str = ""  # "Told Wakefield: Located – on roll at a Leeds school"


@dataclass(frozen=True)
class OverseasRow:
    country: str
    organisation: str
    evidence: str
    independent: str  # Yes | No
    received_on: str
    recorded_by: str


@dataclass(frozen=True)
class StageChangeRow:
    when: str
    from_stage: str  # "" for the first stage
    to_stage: str
    by: str
    reason: str


@dataclass(frozen=True)
class ClosureRow:
    episode: str
    outcome: str
    status: str
    proposed_by: str
    approved_by: str
    closed_on: str


@dataclass(frozen=True)
class PendingClosure:
    """A closure an officer proposed, waiting for a lead (all empty when there is none)."""

    outcome: str = ""  # the outcome's code
    label: str = ""
    proposed_by: str = ""
    proposed_on: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class StageMove:
    """A stage the case can move to, or why not yet (reason empty when it can)."""

    stage: str
    label: str
    reason: str = ""


@dataclass(frozen=True)
class CheckItem:
    label: str
    done: bool


@dataclass(frozen=True)
class EpisodePanel:
    """The child's open CME episode as the case page shows it (id 0: none open), with what
    its forms start from and offer. Choices are [value, text] pairs (forms.select_field)."""

    id: int = 0
    version: int = 0
    rows: list[Row] = field(default_factory=list)
    to_confirm: bool = False
    whereabouts_unknown: bool = False
    review_on: str = ""
    start_date: str = ""  # ISO, for the change form
    start_basis: str = ""
    lives_in_la: str = ""  # yes | no
    primary_reason: str = ""
    reason_history: list[Row] = field(default_factory=list)
    reason_choices: list[list[str]] = field(default_factory=list)
    basis_choices: list[list[str]] = field(default_factory=list)
    end_choices: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class CaseAbilities:
    """What the viewer may do on this case now (the page shows only these controls; every
    handler and service checks again)."""

    triage: bool = False
    override: bool = False
    allocate: bool = False
    record: bool = False
    notify_la: bool = False
    return_to_referrer: bool = False
    propose: bool = False
    close: bool = False
    reopen: bool = False
    edit_safety: bool = False
    start_visit: bool = False
    review_visits: bool = False
    record_episode: bool = False
    match_children: bool = False  # confirm or reject a proposed match (confirming merges)
    undo_merge: bool = False


@dataclass(frozen=True)
class NewPupilProposal:
    """A school's new pupil who may be this case's child (services/school_returns)."""

    return_id: int
    school: str
    start_date: str
    matched_on: str  # "UPN" | "name and date of birth"


@dataclass(frozen=True)
class CaseReturnsPart:
    """The schools' returns about this case's child (services/school_returns/views.py)."""

    off_rolling: tuple[str, ...] = ()  # one warning per flagged deletion
    deletions: tuple[str, ...] = ()  # "<School> deleted this pupil on ..."
    proposals: tuple[NewPupilProposal, ...] = ()


@dataclass(frozen=True)
class StepRow:
    """One securing-education step as the case page lists it (services/casework/securing)."""

    id: int
    version: int
    kind: str
    title: str
    rows: list[Row]
    due_label: str  # "" when done or with no due date
    due_state: str  # overdue | today | due | done | ""
    form_values: dict[str, str]  # the update form's fields, keyed by their names on the page


@dataclass(frozen=True)
class SecuringPanel:
    """The case page's "Securing education" section."""

    shown: bool = False  # the case is, or was, in Located
    editable: bool = False
    steps: list[StepRow] = field(default_factory=list)
    reason_note: str = ""  # why the episode's reason does not follow the steps, if it doesn't
    reason_by_hand: bool = False  # chosen by hand while the steps give one: can be handed back
    kinds: list[list[str]] = field(default_factory=list)
    has_keyworker: bool = False  # the keyworker step exists (made on entering Located)


@dataclass(frozen=True)
class CaseFile:
    reference: str
    version: int
    stage: str
    stage_label: str
    episode: int
    is_open: bool
    # Risk and triage
    risk: str
    risk_label: str
    risk_factor_labels: list[str]
    proposed_risk_label: str
    risk_rationale: str
    risk_history: list[RiskDecision]
    factor_choices: list[FactorChoice]
    officer: str
    officer_id: str
    officer_choices: list[Choice]
    due_label: str
    due_state: str
    triage_due: str
    first_visit_due: str
    # Where the referral came from
    source_label: str
    school_name: str
    referrer_rows: list[Row]
    referral_rows: list[Row]
    referral_enquiries: list[ReferrerEnquiry]
    # The child and household
    child_name: str
    child_rows: list[Row]
    addresses: list[AddressRow]
    people: list[PersonRow]
    possible_matches: list[PossibleMatch]  # other households' cases at the same address
    links: list[LinkedCase]
    # The child's record over time, and other records that may be the same child
    history_episodes: list[EpisodeHistoryRow]
    history_cases: list[CaseHistoryRow]
    child_matches: list[ChildMatchRow]
    child_merges: list[ChildMergeRow]
    # Records
    safeguarding: list[SafeguardingRow]
    enquiries: list[EnquiryRow]
    visits: list[VisitRow]
    la_notifications: list[LaNotificationRow]
    overseas: list[OverseasRow]
    # Stages and closing
    timeline: list[StageChangeRow]
    closures: list[ClosureRow]
    pending: PendingClosure
    school_notice: str
    allowed_moves: list[StageMove]
    blocked_moves: list[StageMove]  # each with why not yet (caseworkers only)
    untraceable_checklist: list[CheckItem]
    # Whether the child is missing education in law (a case can exist before an episode)
    cme_episode: EpisodePanel
    # Lone-working safety: read before every visit.
    warning_markers: str
    joint_visit_required: bool
    can: CaseAbilities
    # Schools' deletion and new-pupil returns about this child: off-rolling flags, deletions,
    # new pupils that may be this child.
    school_returns: CaseReturnsPart = field(default_factory=CaseReturnsPart)
    # "Reported missing to police on 7 December 2026 (reference WY-1)"; "" when not reported.
    police_report: str = ""
    police_reported_on: str = ""  # ISO, for the form
    police_reference: str = ""
    # Securing education once the child is found (stage Located, read-only after).
    securing: SecuringPanel = field(default_factory=SecuringPanel)
    # Notices and letters made on the case (services/documents).
    documents: DocumentsPart = field(default_factory=DocumentsPart)
    # The summary at the top of the page.
    summary: CaseSummary = field(default_factory=CaseSummary)
