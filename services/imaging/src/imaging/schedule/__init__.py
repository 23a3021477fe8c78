"""The visit schedule of each trial and the assignment of assessments to visits."""
