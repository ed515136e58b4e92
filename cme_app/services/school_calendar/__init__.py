"""The school calendar: term dates, non-teaching days and bank holidays, and the school-day and
working-day arithmetic every target and rule counts with."""
