"""Versioned event contracts shared by the services: the only thing services know of each other."""

from doseline.contracts.registry import CONTRACTS, contract_for, register

__all__ = ["CONTRACTS", "contract_for", "register"]
