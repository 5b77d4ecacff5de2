"""The stores Rasa creates from the endpoints: a tracker store that reports database failures, lock
stores that guard every turn with it, and the database health they share."""
