"""The live 3+3 escalation state of a trial: DLT facts, recommendations and signed decisions."""
