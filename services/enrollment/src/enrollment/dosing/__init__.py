"""Dosing: the infusion schedule, administration timing, weight validity and dose per infusion."""
