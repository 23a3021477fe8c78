"""Imaging's SDTM domains at a data cut: RE (lung function), FT (six-minute walk) and QS
(SGRQ)."""
