"""Checks a version must pass before it is trusted with traffic."""
