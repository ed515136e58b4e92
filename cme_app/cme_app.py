"""The Reflex app: registers pages and the API; nothing else."""

import reflex as rx

from cme_app import models, pages  # noqa: F401  (importing registers tables and pages)
from cme_app.api import api

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
