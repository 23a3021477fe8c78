"""Reference ranges (LLN–ULN) per trial and site, over shipped adult defaults."""
