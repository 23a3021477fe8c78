"""Grading assistance over HTTP: the question forms, proposed grades, the reaction-overlap flag."""
