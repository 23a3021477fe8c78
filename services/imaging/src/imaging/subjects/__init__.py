"""Subjects as imaging knows them from enrollment's events: dose level, infusions, calendar."""
