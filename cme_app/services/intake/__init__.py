"""Intake: how a child reaches the CME team. The school's referral form and its rules, drafts and
submission, the school's view of its own referrals, referrals logged by the team (other LAs,
new to the country) and the register of schools."""
