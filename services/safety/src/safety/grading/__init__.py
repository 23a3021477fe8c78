"""CTCAE v5.0 grading as pure rules: numbers (labs, vitals, PFTs), structured clinical answers, and
the check that a reported grade exists for its term."""
