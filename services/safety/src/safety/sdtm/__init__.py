"""Safety's SDTM domains at a data cut: AE with SUPPAE, and LB from the EHR lab intake."""
