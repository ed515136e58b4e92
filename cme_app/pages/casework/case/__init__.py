"""The case page (/cases/[ref]): its state, and one module per group of sections."""

from . import page  # noqa: F401  (registers the page)
