"""Every ORM model of the enrollment service, imported so the metadata knows all tables."""
