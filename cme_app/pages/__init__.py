"""Importing this package registers every page."""

from . import (  # noqa: F401
    admin_calendar,
    admin_users,
    audit,
    board,
    case_detail,
    case_new,
    dashboard,
    inbox,
    inbox_settings,
    login,
    referral_detail,
    referral_form,
    referrals,
    retention,
    visits,
)
