"""The lone-working monitor: the app-wide lifespan task that applies the escalation rules
(services/visits/lone_working.py) every `lone_working_check_seconds`.

One monitor per process; the rules' conditional updates make several of them safe.
"""

from __future__ import annotations

import asyncio
import logging

from ..db import session_scope
from ..models import utcnow
from ..services.visits import lone_working
from ..settings import get_settings

logger = logging.getLogger(__name__)


def run_once() -> int:
    """One look for overdue visits, in its own unit of work; how many alerts it raised."""
    with session_scope() as session:
        return len(lone_working.escalate_overdue(session, now=utcnow()))


async def monitor() -> None:
    """A failed look is logged (without personal data) and the next one still happens."""
    while True:
        try:
            raised = await asyncio.to_thread(run_once)
            if raised:
                logger.info("Lone working: raised %d alert(s)", raised)
        except Exception as exc:  # keep watching whatever went wrong
            logger.error("Lone working check failed: %s", type(exc).__name__)
        await asyncio.sleep(get_settings().lone_working_check_seconds)
