"""The socket.io channel with the same bounds as the REST channel.

Rasa's ``SocketIOInput`` names the conversation after the socket's own session id (we run it without
session persistence, see credentials.yml), so the sender needs no check; the message and metadata
do. A message over the limit is answered on the socket with a short note and never reaches Rasa.

The bot's messages of a turn are held back until the turn is over (``HeldOutput``) and sent only
when it was kept: when the conversation could not be saved (``bot.stores.health.TurnNotSaved``) the
visitor gets ``NOT_SAVED_REASON`` instead of the reply; when the turn failed otherwise, a short
apology. Rasa's own channel emits each message as soon as the bot says it, before the save.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.channels.limits import message_problem, metadata_problem
from bot.channels.rest import NOT_ANSWERED_REASON
from bot.stores.health import NOT_SAVED_REASON, TurnNotSaved
from core.settings import load_settings

logger = logging.getLogger(__name__)


class HeldOutput(OutputChannel):
    """Keeps the bot's messages of one turn until ``release()``; Rasa's processor sends every bot
    message through ``send_response``. Keeps the wrapped channel's name, which picks the responses."""

    def __init__(self, channel: OutputChannel) -> None:
        self.channel = channel
        self.held: List[Tuple[Text, Dict[Text, Any]]] = []

    def name(self) -> Text:
        return self.channel.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.held.append((recipient_id, copy.deepcopy(message)))

    async def release(self) -> None:
        for recipient_id, message in self.held:
            await self.channel.send_response(recipient_id, message)
        self.held = []


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
            if problem is not None:
                await message.output_channel.send_text_message(
                    message.sender_id, f"Sorry, I can't read that message: {problem}."
                )
                return
            socket = message.output_channel
            held = HeldOutput(socket)
            message.output_channel = held
            try:
                await on_new_message(message)
            except TurnNotSaved as error:
                logger.warning("Turn not saved, reply withdrawn: %s", error)
                await socket.send_text_message(message.sender_id, NOT_SAVED_REASON)
                return
            except Exception:
                logger.exception("Turn of %r failed, reply withdrawn", message.sender_id)
                await socket.send_text_message(message.sender_id, NOT_ANSWERED_REASON)
                return
            await held.release()

        return super().blueprint(bounded)
