"""The Reflex app: registers pages, the API and the lifespan tasks; nothing else."""

import reflex as rx

from cme_app import models, pages  # noqa: F401  (importing registers tables and pages)
from cme_app.api import api
from cme_app.services.lone_working import monitor

app = rx.App(
    stylesheets=["/styles.css"],
    head_components=[
        rx.el.meta(name="theme-color", content="#0b0c0c"),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        rx.el.script(src="/app.js", defer=True),
        rx.el.script(src="/outbox.js", defer=True),
    ],
    api_transformer=api,
    html_lang="en-GB",
)
# One lone-working monitor per process; its conditional updates make several workers safe.
app.register_lifespan_task(monitor)
