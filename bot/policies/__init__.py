"""Dialogue policies of the project's own (loaded by name from config.yml)."""
