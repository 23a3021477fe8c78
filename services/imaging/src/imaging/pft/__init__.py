"""Pulmonary function: GLI reference values (through pyspiro), Hb-corrected DLCO, severity bands."""
