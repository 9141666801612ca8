"""Helpers shared by the integration tests: databases on both backends and a real gateway process."""
