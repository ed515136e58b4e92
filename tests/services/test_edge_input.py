"""Edge input that used to reach int() or the database unchecked (issue 18, part 7): Unicode
digits that pass str.isdigit() ("²", "①") and ids past any integer column. Each gets a field
error or names no record; none raises."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cme_app.errors import ValidationFailed
from cme_app.numbers import MAX_ROW_ID, digits, row_id
from cme_app.ops.demo import example_referral_form
from cme_app.services.intake import referral_form as rf
from cme_app.services.trust import accounts, audit_log
from tests.factories import make_user

TODAY = date(2026, 11, 27)
# Characters str.isdigit() accepts that are not the digits 0-9: superscripts, circled digits,
# Arabic-Indic and full-width digits (int() refuses some of them and reads others).
UNICODE_DIGITS = ("²", "①", "٣", "３", "𝟘")

numbers_text = st.one_of(
    st.text(alphabet=st.sampled_from("0123456789" + "".join(UNICODE_DIGITS)), max_size=25),
    st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(), st.floats(),
)


@given(numbers_text)
def test_digits_are_what_int_reads_and_row_ids_fit_the_column(value):
    if isinstance(value, str) and digits(value):
        assert int(value) >= 0
        assert all(c in "0123456789" for c in value)
    found = row_id(value)
    assert found is None or (type(found) is int and 0 < found <= MAX_ROW_ID)


@pytest.mark.parametrize("value", [*UNICODE_DIGITS, "1²", True, 0, -1, 2**31, 2**63, "9" * 11])
def test_row_id_names_no_record_for_anything_but_a_plain_id(value):
    assert row_id(value) is None


@pytest.mark.parametrize("days", ["²", "①", "1²", "٣"])
def test_referral_absence_days_in_unicode_digits_is_a_field_error(days):
    form = example_referral_form(today=TODAY) | {"absence_days": days}
    errors = {e.field: e.message for e in rf.validate(rf.clean_form_data(form), today=TODAY)}
    assert errors.get("absence_days") == (
        "Days of unauthorised absence must be a whole number, like 12")


@pytest.mark.parametrize("page", ["²", "①", 2**63])
def test_accounts_page_in_unicode_digits_or_huge_is_a_field_error(session, page):
    admin = make_user(session, "admin", email="admin@example.org")
    with pytest.raises(ValidationFailed) as refused:
        accounts.list_users(session, actor=admin, page=page)
    assert refused.value.errors[0].field == "page"


@pytest.mark.parametrize("value", ["²", "①①", 2**63, "999999999999"])
def test_audit_child_filter_with_no_such_child_names_none(session, value):
    assert audit_log.resolve_child(session, value) is None
