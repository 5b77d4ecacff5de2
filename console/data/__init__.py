"""The console's data layer, beneath every feature: its tables (one schema module, database.py), the
event sync from Rasa's tracker store, the queries, reviews, privacy and retention."""
