"""Doseline imaging and outcomes service."""
