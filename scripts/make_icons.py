"""Render the app's PNG icons from their SVG sources in assets/icons/, at exact sizes.

    .venv/bin/python scripts/make_icons.py

Uses Playwright with Debian's /usr/bin/chromium (as the browser tests do). Rendering in a real
browser gives the same text shaping as the pages; the fonts come from the machine (Liberation
Sans on ours), so commit the PNGs rather than rebuilding them in CI. After rendering, it checks
that the maskable icon's artwork lies inside the centre 80% circle (Android's safe zone).
"""

from __future__ import annotations

import base64
import math
import struct
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ICONS = Path(__file__).resolve().parents[1] / "assets" / "icons"
CHROMIUM = "/usr/bin/chromium"
BACKGROUND = (0x0B, 0x0C, 0x0C)

# (output file, source SVG, size in px)
OUTPUTS = [
    ("icon-192.png", "icon.svg", 192),
    ("icon-512.png", "icon.svg", 512),
    ("icon-maskable-512.png", "icon-maskable.svg", 512),
    ("apple-touch-icon.png", "icon.svg", 180),
]

_PAGE = """<!doctype html><html><head><style>
html, body {{ margin: 0; padding: 0; overflow: hidden; }}
svg {{ display: block; width: 100vw; height: 100vh; }}
</style></head><body>{svg}</body></html>"""

# Farthest pixel from the centre, as a fraction of the icon's width, whose colour is not the
# background's (anti-aliased edges count).
_FARTHEST_JS = """
async ([dataUrl, bg]) => {
  const img = new Image();
  img.src = dataUrl;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const {data} = ctx.getImageData(0, 0, c.width, c.height);
  const cx = c.width / 2, cy = c.height / 2;
  let farthest = 0;
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const i = (y * c.width + x) * 4;
      const diff = Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1])
        + Math.abs(data[i + 2] - bg[2]);
      if (diff > 24) farthest = Math.max(farthest, Math.hypot(x + 0.5 - cx, y + 0.5 - cy));
    }
  }
  return farthest / c.width;
}
"""


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    return struct.unpack(">II", head[16:24])


def render(page: Page, svg: str, size: int, out: Path) -> None:
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(_PAGE.format(svg=svg))
    page.evaluate("document.fonts.ready")
    page.screenshot(path=str(out), omit_background=False,
                    clip={"x": 0, "y": 0, "width": size, "height": size})


def main() -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(device_scale_factor=1)
        for name, source, size in OUTPUTS:
            out = ICONS / name
            render(page, (ICONS / source).read_text(), size, out)
            if png_size(out) != (size, size):
                print(f"{name}: wrong size {png_size(out)}", file=sys.stderr)
                return 1
            print(f"{name}: {size}x{size} from {source}")
        maskable = ICONS / "icon-maskable-512.png"
        data_url = "data:image/png;base64," + base64.b64encode(maskable.read_bytes()).decode()
        farthest = page.evaluate(_FARTHEST_JS, [data_url, list(BACKGROUND)])
        browser.close()
    print(f"maskable artwork reaches {farthest:.3f} of the width from the centre (limit 0.400)")
    if not math.isfinite(farthest) or farthest > 0.4:
        print("the maskable artwork leaves the safe zone", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
