"""Business rules. Framework-free: nothing here imports Reflex."""
