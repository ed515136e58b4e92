"""A child process for tests/services/intake/test_submit_faults.py: a backend that dies (SIGKILL, as
`kill -9`) in the middle of a real referral submit on the test database.

    python -m tests.submit_kill_worker JOB_JSON

JOB_JSON: {"user_id", "submission_id", "form", "die": "before_commit" | "after_commit"}.
The kill is a SQLAlchemy session event hook installed here only; the app has no fault code.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.orm import Session

from cme_app.db import session_scope
from cme_app.models import User
from cme_app.permissions import Actor
from cme_app.services.intake import referrals


def main(job: dict) -> None:
    with session_scope() as session:
        user = session.get(User, job["user_id"])
        actor = Actor(
            user_id=user.id, role=user.role, name=user.name, email=user.email,
            school_id=user.school_id,
        )

    def die(_session, *_args) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, job["die"], die)
    with session_scope() as session:
        referrals.submit(
            session, actor=actor, form=job["form"], submission_id=job["submission_id"]
        )
    sys.exit(3)  # never reached: the hook killed the process


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
