"""Doseline safety service."""
