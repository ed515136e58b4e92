"""Casework: the case once the LA holds it. The case file, triage and risk, allocation, the
enquiry pathway's records, the state machine (moves, return, reopen), closure outcomes, response
targets and the board."""
