"""The edge of the Rasa server: bounded REST and socket.io input channels (named in credentials.yml)."""
