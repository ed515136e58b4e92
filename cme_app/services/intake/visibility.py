"""Who may see which referral: the rule "school B cannot see school A's referral".

Roles come from the permissions table (referral.view, referral.write); which referrals a role
may see is this record-level rule. Every read of referrals on a school's behalf goes through
`visible_to`: its list, one referral's page, a draft it reopens or submits, a repeated
submission. A referral it filters out is simply not found, so another school's reference
looks like no referral at all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from ...models import Referral
from ...permissions import Actor


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The referrals `actor` may see: a school user only its own school's; LA staff (who
    reach a referral only with the referral.view capability) every one."""
    if actor.is_school:
        return Referral.school_id == actor.school_id
    return true()
