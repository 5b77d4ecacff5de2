"""What the Rasa server loads: NLU components, policies, input channels, stores and Rasa patches.

``python -m bot`` starts the Rasa server, the same way under ``make run`` and in production
(see ``bot/__main__.py``). Everything here imports only ``core`` and Rasa, never the action
server, the web server or the console.
"""
