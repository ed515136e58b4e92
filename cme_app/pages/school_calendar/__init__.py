"""The school calendar page (/admin/calendar)."""
