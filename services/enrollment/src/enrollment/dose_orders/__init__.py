"""Investigator dose orders: a dose held (then released or made permanent) or reduced."""
