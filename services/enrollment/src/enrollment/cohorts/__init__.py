"""Cohorts and their slots: enrolment, waitlist and slot reservations."""
