"""The Lighthouse baseline: a bare Reflex page, built with the app's own toolchain."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(app_name="bare", telemetry_enabled=False, show_built_with_reflex=False,
                   disable_plugins=[SitemapPlugin])
