"""The live escalation state of a trial, for any dose-finding design: DLT facts, recommendations
and signed decisions."""
