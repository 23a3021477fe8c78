"""Endpoints over time: per-subject series with change from baseline, per-dose statistics, plots."""
