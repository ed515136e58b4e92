"""Trust: who may do what and what is kept of it. Accounts, passwords, sessions, MFA, the audit
trail and its search, purpose of access, the sharing log, retention and subject access."""
