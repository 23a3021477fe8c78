"""DLT observation windows and DLT-evaluability of subjects, with replacement of the others."""
