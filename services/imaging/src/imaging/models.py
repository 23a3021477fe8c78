"""Every ORM model of the imaging service, imported so the metadata knows all tables."""
