"""Chest CT volumetry: lung and lesion volumes, the lesion fraction p and its change from baseline.

Three ways in: a radiologist's measurements, a NIfTI label map, or a DICOM-SEG (optionally with
its source CT series). All three end in the same `LungLesionVolumes`.
"""
