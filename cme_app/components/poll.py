"""A tick every few seconds while the tab is visible (assets/poll.jsx), for pages whose data
others change, such as lone-working alerts on the dashboard."""

from __future__ import annotations

import reflex as rx
from reflex.event import no_args_event_spec

POLL_JSX = rx.asset("poll.jsx")


class Every(rx.Component):
    library = POLL_JSX.importable_path
    tag = "Every"

    ms: rx.Var[int]
    on_tick: rx.EventHandler[no_args_event_spec]


every = Every.create
