"""Reflex configuration. URLs and secrets come from the environment, never literals."""

import os

# No call to PyPI from a running server, whatever the environment (make sets it too).
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from cme_app.security import install_log_redaction
from cme_app.settings import get_settings

# Every Reflex process (CLI and each worker) reads this file first.
install_log_redaction()

_settings = get_settings()
# Reflex reads its WebSocket frame limit from the environment; give it ours (≤ 1 MB).
os.environ["REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE"] = str(_settings.socket_max_frame_bytes)

# Tab state: in Redis where one is configured (REFLEX_REDIS_URL: the production profile, whose
# workers share it); otherwise in this process's memory, dropped when a tab's token expires.
# Never Reflex's default disk manager, which pickles every tab's state into world-readable
# .states/*.pkl, the socket handshake's session cookie and open case files included.
_tab_state = {} if os.environ.get("REFLEX_REDIS_URL") else {"state_manager_mode": "memory"}

config = rx.Config(
    app_name="cme_app",
    db_url=_settings.db_url,
    cors_allowed_origins=list(_settings.allowed_origins),
    # router.session.client_ip (the audit trail's IP) trusts only this many proxy hops.
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
    **_tab_state,
)
