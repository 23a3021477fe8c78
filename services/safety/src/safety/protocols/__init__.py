"""Protocol versions as enrollment publishes them: the trial rules safety applies."""
