"""Typed client for Doseline's event feed and webhook subscriptions, and a webhook verifier."""
