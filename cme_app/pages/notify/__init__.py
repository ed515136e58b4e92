"""The inbox and its settings."""
