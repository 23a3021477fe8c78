"""Doseline notifications service."""
