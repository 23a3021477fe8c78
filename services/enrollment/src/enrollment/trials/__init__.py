"""Trials and their protocol versions: each trial runs under the protocol it was created from."""
