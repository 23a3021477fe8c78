"""Outcome assessments: CT volumes, lung function, walk tests, blood gases, SGRQ, over visits."""
