"""Test support: a real PostgreSQL and a real broker for every Doseline test suite."""
