"""Visit schedule: baseline and follow-up visits, their windows, due and overdue visits."""
