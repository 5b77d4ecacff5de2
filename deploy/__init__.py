"""Deployment helpers loaded by Rasa from the endpoints (a lock store that is safe across servers)."""
