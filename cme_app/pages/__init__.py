"""Importing this package registers every page."""

from . import board, dashboard, login, referral_detail, referral_form, referrals  # noqa: F401
