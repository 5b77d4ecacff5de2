"""The conversation list, one transcript, their reviews, and the conversations JSON API."""
