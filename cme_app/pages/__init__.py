"""Importing this package registers every page."""

from . import board, case_detail, case_new, login, referral_detail, referral_form, referrals  # noqa: F401
