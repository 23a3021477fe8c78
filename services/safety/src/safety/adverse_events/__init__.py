"""Adverse-event reports, their versions, proposed grades and the SAE reporting clock."""
