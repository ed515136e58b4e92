"""Sign-in, accounts, the audit log and retention."""
