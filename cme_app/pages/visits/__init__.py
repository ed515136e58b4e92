"""The phone's visit log page."""
