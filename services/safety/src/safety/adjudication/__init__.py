"""DLT rule sets per trial, DLT assessments of adverse events and their signed adjudication."""
