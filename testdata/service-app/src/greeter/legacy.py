"""A module that only version 1 ships: upgrades must remove it."""

LEGACY = True
