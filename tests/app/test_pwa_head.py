"""The installable-app tags in every page's <head>, and the service worker in prod only."""

from __future__ import annotations

import pytest

from cme_app.cme_app import _pwa_head, app
from cme_app.components.offline import overlay_wrap


def _rendered(mode: str, monkeypatch) -> str:
    monkeypatch.setenv("REFLEX_ENV_MODE", mode)
    return "\n".join(str(component) for component in _pwa_head())


@pytest.mark.parametrize(("mode", "registers"), [("prod", True), ("dev", False)])
def test_only_a_production_build_registers_the_service_worker(monkeypatch, mode, registers):
    head = _rendered(mode, monkeypatch)
    assert ("/sw-register.js" in head) is registers
    # The worker is never registered through rx.asset's ?v=<hash> URL (a new URL every deploy).
    assert "sw.js?" not in head
    assert '"/manifest.webmanifest"' in head
    assert '"/icons/apple-touch-icon.png"' in head


def test_the_offline_banner_replaces_reflex_connection_overlay():
    assert app.app_wraps[(5, "Overlay")] is overlay_wrap
    assert overlay_wrap(False) is None  # a stateless app has no connection to lose
