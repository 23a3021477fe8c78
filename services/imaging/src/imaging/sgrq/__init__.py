"""St George's Respiratory Questionnaire (SGRQ and SGRQ-C): item weights and component scoring.

Only item identifiers and weights live here; the questionnaire wording is licensed by St George's,
University of London and is never stored in this code base.
"""
