"""Route constants and builders. Bookmarks, tests and the README rely on these paths."""

LOGIN = "/login"
REFERRALS = "/referrals"
REFERRAL_NEW = "/referrals/new"
REFERRAL_DETAIL = "/referrals/[ref]"
BOARD = "/board"
SEARCH = "/search"  # find any case (the header's box); the words stay out of the URL
CASE_NEW = "/cases/new"
CASE_DETAIL = "/cases/[ref]"
DASHBOARD = "/dashboard"
DFE_RETURN = "/reports/dfe-return"
RETURNS = "/returns"
RETURNS_OFF_ROLLING = "/returns/off-rolling"
VISITS = "/visits"
VISIT_NEW = "/visits/new"
INBOX = "/inbox"
INBOX_SETTINGS = "/inbox/settings"
RETENTION = "/retention"
AUDIT = "/audit"
ADMIN_CALENDAR = "/admin/calendar"
ADMIN_USERS = "/admin/users"
RETURNS = "/returns"
RETURN_NEW = "/returns/new"
RETURN_NEW_PUPIL = "/returns/new-pupil"
RETURN_UPLOAD = "/returns/upload"
RETURNS_OFF_ROLLING = "/returns/off-rolling"
API_PREFIX = "/api/v1"
DOCUMENTS = f"{API_PREFIX}/documents"


def case_url(reference: str) -> str:
    return f"/cases/{reference}"


def document_url(public_id: str) -> str:
    """A stored notice or letter, as a PDF download (api.py)."""
    return f"{DOCUMENTS}/{public_id}"


def referral_url(reference: str) -> str:
    return f"{REFERRALS}/{reference}"


def draft_url(public_id: str) -> str:
    return f"{REFERRAL_NEW}?draft={public_id}"


def referral_page(public_id: str, section: str = "", *, back_to_check: bool = False,
                  field: str = "") -> str:
    """A page of the referral form: the task list (no section), a section's page, or
    Check your answers ("check"); `back_to_check` for a Change link, `field` to focus."""
    query = [f"draft={public_id}"] if public_id else []
    query += [f"section={section}"] if section else []
    query += ["from=check"] if back_to_check else []
    query += [f"field={field}"] if field else []
    return REFERRAL_NEW + ("?" + "&".join(query) if query else "")


def visit_url(reference: str) -> str:
    return f"{VISIT_NEW}?case={reference}"


def safe_return_path(value: object) -> str | None:
    """`value` if it is a path on this site to go back to after signing in, else None: a
    relative path starting with one "/" (never "//" or "/\\", which browsers read as another
    host), of printable ASCII, with no scheme and no fragment. Open redirects stay shut."""
    if not isinstance(value, str) or not 1 <= len(value) <= 300:
        return None
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(not (33 <= ord(c) < 127) or c in "\\#" for c in value):
        return None
    path = value.split("?", 1)[0]
    if ":" in path or path.startswith(LOGIN):
        return None
    return value
