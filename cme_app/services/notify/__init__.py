"""Notify: the in-app inbox, who is told about what, and the email queue's digests."""
