"""Changes to Rasa 3.6 internals, installed once by ``install()`` (see bot/rasa_patches/install.py)."""
