"""Dose-limiting toxicity: the protocol's DLT definition evaluated for one adverse event."""
