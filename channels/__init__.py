"""The edge of the Rasa server: bounded input channels, the action-server guard and the entry point.

``python -m channels`` starts Rasa (see ``channels/__main__.py``); credentials.yml names the channel
classes here. Imports only ``core`` and Rasa, never the web server or the console.
"""
