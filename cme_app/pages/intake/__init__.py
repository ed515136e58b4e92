"""Pages for intake: the school's referral list, form and detail, and logging an
inbound referral."""
