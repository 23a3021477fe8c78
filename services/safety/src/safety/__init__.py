"""Doseline safety service."""

# The port `make run` serves it on. Read by the launcher through the "doseline.service_ports"
# entry point, which imports this package and nothing of the application.
PORT = 8002
