"""Templates to PDF: Jinja2 (autoescaped, from templates/ in this package) to HTML, and
WeasyPrint to a tagged PDF/UA-1 file in British English with a title.

Rendering is CPU work (about a tenth of a second a letter): callers off the event loop only.
The page handler that makes a document runs in a worker thread (state/handlers.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ...settings import PROJECT_ROOT, get_settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,  # a fact the template names but the code forgot: an error
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def may_fetch(url: str) -> bool:
    """A letter reads only local files: the templates' own (the CSS) and the LA's logo. Never
    the network, never any other file (an edited template can't make a letter read one)."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return False
    path = Path(url2pathname(parts.path)).resolve()
    logo = (PROJECT_ROOT / get_settings().la_logo_path).resolve()
    return path == logo or TEMPLATES in path.parents


def _fetcher():
    from weasyprint.urls import URLFetcher

    class LocalFiles(URLFetcher):
        def fetch(self, url, headers=None):
            if not may_fetch(url):
                raise ValueError("A letter may read only its templates and the LA's logo.")
            return super().fetch(url, headers)

    return LocalFiles(allowed_protocols=("file",))


def pdf(page: str) -> bytes:
    """The page as a tagged PDF (PDF/UA-1: structure tree, /Lang, title shown)."""
    from weasyprint import HTML  # Pango loads on first use, not when the app starts

    return HTML(string=page, base_url=str(TEMPLATES), url_fetcher=_fetcher()).write_pdf(
        pdf_variant="pdf/ua-1", uncompressed_pdf=False,
    )
