"""Imaging's SDTM domains at a data cut: RE (lung function), FT (six-minute walk), QS (SGRQ),
and LB (arterial blood gas)."""
