"""The socket.io channel with the same bounds as the REST channel.

Rasa's ``SocketIOInput`` names the conversation after the socket's own session id (we run it without
session persistence, see credentials.yml), so the sender needs no check; the message and metadata
do. A message over the limit is answered on the socket with a short note and never reaches Rasa.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from channels.limits import message_problem, metadata_problem
from core.settings import load_settings


class BoundedSocketIOInput(SocketIOInput):
    """``SocketIOInput`` that refuses over-long messages. Named ``socketio`` so the URL stays the same."""

    max_message_chars: int = 4000

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = dict(credentials or {})
        limit = int(credentials.pop("max_message_chars", 0) or load_settings().max_message_chars)
        channel = super().from_credentials(credentials)
        assert isinstance(channel, BoundedSocketIOInput)
        channel.max_message_chars = limit
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def bounded(message: UserMessage) -> None:
            problem = message_problem(message.text, self.max_message_chars) or metadata_problem(
                message.metadata, self.max_message_chars
            )
            if problem is None:
                await on_new_message(message)
            else:
                await message.output_channel.send_text_message(
                    message.sender_id, f"Sorry, I can't read that message: {problem}."
                )

        return super().blueprint(bounded)
