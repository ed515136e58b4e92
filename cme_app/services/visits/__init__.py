"""Visits: home visits logged from the phone (offline-first), lone-working safety and the alerts
the desk pages show."""
