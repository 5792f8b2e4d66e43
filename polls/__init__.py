"""polls."""
