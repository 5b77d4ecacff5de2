"""The shared model every part of the assistant imports: the knowledge file and the settings.

Nothing here imports Rasa's server, Flask or the console's SQL: ``actions/``, ``components/``,
``console/`` and ``website/`` all depend on ``core``, never the other way round.
"""
