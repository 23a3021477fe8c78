"""Every ORM model of the safety service, imported so the metadata knows all tables."""
