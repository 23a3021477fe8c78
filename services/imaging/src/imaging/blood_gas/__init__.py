"""Arterial blood gas: unit conversion, P/F ratio, alveolar gas equation and A–a gradient."""
