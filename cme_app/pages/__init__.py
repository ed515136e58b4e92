"""Importing this package registers every page. Pages are grouped by capability, as the
services are (docs/architecture.md)."""

from .casework import board, case, search  # noqa: F401
from .intake import inbound, referral_detail, referral_form, referrals  # noqa: F401
from .notify import inbox, inbox_settings  # noqa: F401
from .reporting import dashboard, dfe_return  # noqa: F401
from .school_calendar import terms  # noqa: F401
from .school_returns import (  # noqa: F401
    deletion_form,
    new_pupil_form,
    off_rolling,
    returns_list,
    upload,
)
from .trust import accounts, audit, login, retention  # noqa: F401
from .visits import visit_log  # noqa: F401
