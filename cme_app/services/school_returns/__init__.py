"""Schools' statutory returns (reg 13, 2024 Regulations): deletions from and additions to the
admission register, how each is routed, and the CSV uploads that bring them in bulk."""
