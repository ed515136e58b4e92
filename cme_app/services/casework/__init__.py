"""Casework: the case once the LA holds it. The case file, triage and risk, allocation, the
enquiry pathway's records, the state machine (moves, return, reopen), closure outcomes, response
targets and the board."""

# Every process that commits casework changes publishes them to open boards (the session
# listener is installed on import, as models/search.py's is).
from . import board_events  # noqa: F401
