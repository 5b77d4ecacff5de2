"""Erasure on request: the console's page for deleting a visitor's conversations and follow-ups."""
