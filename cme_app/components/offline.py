"""The app-wide offline banner, in place of Reflex's "Cannot connect to server" overlay.

Reflex's default overlay (a red toast naming the websocket URL, and a pulsing icon) is wrong
for a phone on a doorstep with no signal. The banner (assets/offline_banner.jsx) says calmly
what still works. Reflex's own reconnection (utils/state.js) is untouched: the banner only
reads its connection errors.
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

OFFLINE_BANNER_JSX = rx.asset("offline_banner.jsx")


class OfflineBanner(rx.Component):
    library = OFFLINE_BANNER_JSX.importable_path
    tag = "OfflineBanner"

    # True while Reflex's websocket has failed to connect (it keeps retrying meanwhile).
    server_unreachable: rx.Var[bool]


@rx.memo
def offline_overlay() -> rx.Component:
    # A memo gives the connection-errors hook a component of its own to live in.
    return OfflineBanner.create(server_unreachable=has_connection_errors)


def overlay_wrap(stateful: bool) -> rx.Component | None:
    """The app wrap for rx.App.app_wraps[(5, "Overlay")], like Reflex's default.

    The page becomes a child of the returned component, so it must be a fragment holding the
    banner beside the page (the memo itself would swallow it).
    """
    return rx.fragment(offline_overlay()) if stateful else None
