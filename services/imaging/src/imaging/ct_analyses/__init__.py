"""Uploaded CT segmentations (NIfTI label maps, DICOM-SEG) measured by the worker."""
