"""Enrollment's CDISC SDTM domains: DM, DS, EX, EC, SV, VS and the trial design domains."""
