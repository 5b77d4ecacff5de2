"""Staff accounts and sessions, and the login and logout pages."""
