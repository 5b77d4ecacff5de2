"""Trends: per-day charts and tables, the stats API, and the facts to check again."""
