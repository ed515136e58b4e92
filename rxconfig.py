"""Reflex configuration. URLs and secrets come from the environment, never literals."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from cme_app.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="cme_app",
    db_url=_settings.db_url,
    cors_allowed_origins=list(_settings.allowed_origins),
    # router.session.client_ip (the audit trail's IP) trusts only this many proxy hops.
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[SitemapPlugin],
)
