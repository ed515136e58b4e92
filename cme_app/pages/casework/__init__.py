"""Pages for casework: the board and the case page."""
