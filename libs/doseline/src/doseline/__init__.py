"""Doseline shared runtime kit."""
