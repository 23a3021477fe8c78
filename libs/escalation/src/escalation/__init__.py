"""Pure 3+3 dose-escalation rules."""
