"""Fail the run if personal data reaches any log.

Every log record of the test session (root logger, and Reflex's own logger, whose propagation
Reflex may switch off) and every e2e server log written during the session
(test-artifacts/reflex-e2e-*.log) is searched for the canary names and UPN that tests seed
(tests/factories.py CANARIES). A hit fails the run at the end and names the line.
"""

from __future__ import annotations

import logging
import time

import pytest

from cme_app.security import install_log_redaction
from tests.e2e.helpers import ARTIFACTS
from tests.factories import CANARIES

# The loggers that echo payloads are searched at DEBUG, so their quietest messages count too.
_DEBUG_LOGGERS = ("reflex", "reflex_base", "cme_app", "engineio", "socketio")


class CanaryHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            text = f"{record.msg} {record.args}"
        if any(canary in text for canary in CANARIES):
            self.hits.append(f"{record.name} {record.levelname}: {text[:400]}")


_handler = CanaryHandler()
_started = time.time()


def server_log_hits(since: float) -> list[str]:
    """Canary lines in the e2e server logs written since `since`."""
    hits = []
    for path in sorted(ARTIFACTS.glob("reflex-e2e-*.log")):
        if path.stat().st_mtime < since:
            continue
        for line in path.read_text(errors="replace").splitlines():
            if any(canary in line for canary in CANARIES):
                hits.append(f"{path.name}: {line[:400]}")
    return hits


def pytest_configure(config):
    # The app installs this when it is imported (rxconfig.py, cme_app/cme_app.py); the tests
    # import services directly, so install it the same way here.
    install_log_redaction()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger().addHandler(_handler)
    logging.getLogger("reflex").addHandler(_handler)  # may not propagate; duplicates are dropped
    for name in _DEBUG_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)


def pytest_sessionfinish(session, exitstatus):
    hits = list(dict.fromkeys(_handler.hits)) + server_log_hits(_started)
    if not hits:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "personal data (canaries) found in logs", red=True)
        for hit in hits[:50]:
            reporter.write_line(hit)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
