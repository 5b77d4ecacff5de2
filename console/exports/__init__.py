"""Exports: messages or conversations as CSV or JSON Lines, streamed."""
