"""Reporting: the team lead's dashboard and exports."""
