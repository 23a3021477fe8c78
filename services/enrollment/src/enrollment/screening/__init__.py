"""Screening: whether a subject meets the protocol's eligibility criteria, with reasons."""
