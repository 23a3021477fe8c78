"""Subjects and their screening: study ids, consent, eligibility answers and screen failures."""
