"""The Reflex app: registers pages, the API and the lifespan tasks; nothing else."""

import reflex as rx
from reflex.utils.exec import is_prod_mode

from cme_app import models, pages  # noqa: F401  (importing registers tables and pages)
from cme_app.api import api
from cme_app.components.offline import overlay_wrap
from cme_app.security import install_log_redaction, security_headers
from cme_app.socket_guard import install as guard_event_socket
from cme_app.state.auth import bind_tabs

from .ops.mail import worker as notifications_worker
from .ops.workers import monitor

THEME_COLOUR = "#0b0c0c"

# Before any event is handled: Reflex's warnings can echo payloads (personal data).
install_log_redaction()


def _pwa_head() -> list[rx.Component]:
    """The manifest, icons and iOS home-screen tags; the service worker in production only.

    Decided when the app is compiled (`reflex run --env prod` and `make run` compile in prod
    mode): the dev server's Vite modules must not be cached by a service worker.
    """
    head = [
        rx.el.link(rel="manifest", href="/manifest.webmanifest"),
        rx.el.link(rel="apple-touch-icon", href="/icons/apple-touch-icon.png"),
        rx.el.meta(name="apple-mobile-web-app-capable", content="yes"),
        rx.el.meta(name="mobile-web-app-capable", content="yes"),
        rx.el.meta(name="apple-mobile-web-app-title", content="CME visits"),
        rx.el.meta(name="apple-mobile-web-app-status-bar-style", content="black"),
    ]
    if is_prod_mode():
        head.append(rx.el.script(src="/sw-register.js", defer=True))
    return head


app = rx.App(
    stylesheets=["/styles.css"],
    head_components=[
        rx.el.meta(name="theme-color", content=THEME_COLOUR),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.script(src="/app.js", defer=True),
        rx.el.script(src="/outbox.js", defer=True),
        rx.el.script(src="/referral_autosave.js", defer=True),
        rx.el.script(src="/session_timeout.js", defer=True),
        *_pwa_head(),
    ],
    # The JSON API mounts the Reflex app; the headers then wrap everything, static build included.
    api_transformer=[api, security_headers],
    html_lang="en-GB",
)
# One lone-working monitor per process; its conditional updates make several workers safe.
app.register_lifespan_task(monitor)
# One notifications worker per process; claims and unique keys make several workers safe.
app.register_lifespan_task(notifications_worker)
# Reflex 0.10 has no overlay_component argument: the overlay is the (5, "Overlay") app wrap.
app.app_wraps[(5, "Overlay")] = overlay_wrap
# Origin, rate and size checks on the /_event WebSocket (Reflex has none of its own).
guard_event_socket(app)
# A tab's state is reset before any event from a socket of another session (issue 18).
bind_tabs(app)
