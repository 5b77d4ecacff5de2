"""Live chat: one home for the hand-off, with the visitor's API (visitor.py) beside the staff pages (views.py)."""
