"""townhall."""
