"""Subjects as safety knows them: from enrollment's events, with their DLT window and baseline."""
