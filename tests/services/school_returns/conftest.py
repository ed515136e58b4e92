"""Shared makings for the school-returns tests."""

from __future__ import annotations

from datetime import date

TODAY = date(2026, 12, 7)
DOB = date(2014, 3, 2)  # Year 7 in 2026/27: of compulsory school age


def deletion_form(**changes: str) -> dict[str, str]:
    """A complete deletion return under ground G (moved away, destination unknown)."""
    form = {
        "upn": "", "first_name": "Tamsin", "last_name": "Roe",
        "date_of_birth": DOB.isoformat(), "sex": "female",
        "address_line1": "12 Gledhow Road", "town": "Leeds", "postcode": "ls8 4ab",
        "parent_1_name": "Jo Roe", "parent_1_phone": "0113 496 0000",
        "deletion_date": "2026-12-01", "ground": "G",
    }
    return form | changes


def csv_row(**changes: str) -> dict[str, str]:
    row = {
        "school_urn": "107999", "upn": "", "first_name": "Tamsin", "last_name": "Roe",
        "date_of_birth": DOB.isoformat(), "sex": "F", "address_line1": "12 Gledhow Road",
        "postcode": "LS8 4AB", "parent_name": "Jo Roe", "parent_phone": "0113 496 0000",
        "deletion_date": "2026-12-01", "ground": "G", "destination_school_urn": "",
        "destination_la_code": "", "new_address": "", "notes": "",
    }
    return row | changes
