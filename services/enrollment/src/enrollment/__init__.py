"""Doseline enrollment service."""
