"""Kept so code written against the old place keeps working; the rules live in warehouse/access.py."""

from warehouse.access import Permission, access_environment

__all__ = ["Permission", "access_environment"]
