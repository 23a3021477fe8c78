"""Protocol versions as enrollment publishes them: the visit schedule imaging applies."""
