"""The case page's tabs: which sections each holds, and which tab a URL opens.

A tab has its own URL (`/cases/REF?tab=visits`); an old deep link to a section
(`/cases/REF#close`, where the board sends a drop on Closed) opens the tab that holds it.
Plain Python, so the choice is tested without a browser."""

from __future__ import annotations

# (key, label, the section anchors it holds), in the order an officer works through a case.
TABS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("overview", "Stage and risk", ("move", "risk", "safeguarding")),
    ("child", "Child and family", ("child", "child-record", "referral")),
    ("enquiries", "Enquiries", ("enquiries", "la", "overseas")),
    ("visits", "Visits", ("safety", "visits")),
    ("education", "CME episode", ("episode", "securing")),
    ("documents", "Documents", ("documents", "sharing")),
    ("close", "Closing", ("close", "timeline")),
)
DEFAULT = TABS[0][0]
KEYS = frozenset(key for key, _, _ in TABS)
TAB_OF_ANCHOR = {anchor: key for key, _, anchors in TABS for anchor in anchors}


def tab_for(query_tab: object = "", fragment: object = "") -> str:
    """The tab a URL opens: `?tab=` if it names one, else the tab holding the `#section`,
    else the first. Anything else in the URL is ignored."""
    if isinstance(query_tab, str) and query_tab in KEYS:
        return query_tab
    if isinstance(fragment, str) and fragment in TAB_OF_ANCHOR:
        return TAB_OF_ANCHOR[fragment]
    return DEFAULT


def section_of(fragment: object) -> str:
    """The section a `#fragment` names (focus goes to its heading), or ""."""
    return fragment if isinstance(fragment, str) and fragment in TAB_OF_ANCHOR else ""
