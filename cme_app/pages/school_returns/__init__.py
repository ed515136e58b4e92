"""Pages for schools' statutory returns: deletions from and additions to the admission
register, one at a time or as a CSV file; the LA's view of them and the possible off-rolling
list. The case page's part is pages/casework/case/school_returns.py."""
