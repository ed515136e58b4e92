"""No tab's state is written to disk (issue 18, part 3). Reflex's default disk state manager
pickled every tab's state into world-readable `.states/*.pkl`: the socket handshake's headers
with the raw session cookie, and the case files a tab had open. The pilot (no Redis) keeps tab
state in the server's memory instead; the production profile keeps it in Redis."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page

from cme_app.state.auth import SESSION_COOKIE
from tests.e2e.helpers import open_case, sign_in
from tests.factories import make_case

STATES = Path(__file__).resolve().parents[2] / ".states"
# The disk manager wrote a tab's state this long after the event that changed it.
DISK_DEBOUNCE_MS = 2_000


def test_signing_in_and_opening_a_case_writes_no_tab_state_file(page: Page, team, session):
    case = make_case(session, stage="enquiries", risk="amber", first_name="Disk",
                     last_name="Canary", officer_id=team["officer"].user_id)
    session.commit()
    started = time.time() - 1
    sign_in(page, "officer@example.org", lands_on="/board")
    open_case(page, case.reference)
    [cookie] = [c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.wait_for_timeout(DISK_DEBOUNCE_MS + 1_500)  # past any write it would have made
    written = [f for f in STATES.rglob("*") if f.is_file() and f.stat().st_mtime >= started]
    holding = [f.name for f in written
               if cookie.encode() in f.read_bytes() or b"Canary" in f.read_bytes()]
    assert (written, holding) == ([], [])
