"""Integration tests of the enrollment service against real PostgreSQL."""
