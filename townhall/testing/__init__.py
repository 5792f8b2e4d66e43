"""Test doubles for external platforms (run locally, no network beyond 127.0.0.1)."""
