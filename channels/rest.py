"""The REST channel the widget posts to (``POST /webhooks/rest/webhook``), with its input bounded.

It is Rasa's own ``RestInput`` (same URL, same replies, ``metadata`` still passed to the
``UserMessage``) plus one request check that runs before Rasa's handler: a body that is not a JSON
object, a missing or malformed sender, a message or metadata over the limit are refused with 400 or
413 and a one-line reason, so nothing of them reaches the processor or the tracker store.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.limits import message_problem, metadata_problem, sender_problem
from core.settings import load_settings


def _refuse(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


class BoundedRestInput(RestInput):
    """``RestInput`` that refuses what it should not store. Named ``rest`` so the URL stays the same."""

    def __init__(self, max_message_chars: int) -> None:
        self.max_message_chars = max_message_chars

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(int(credentials.get("max_message_chars") or load_settings().max_message_chars))

    def _extract_input_channel(self, req: Request) -> str:
        # The stored channel name says where a message came from; a client does not get to choose it.
        return self.name()

    def request_problem(self, request: Request) -> Optional[HTTPResponse]:
        """The refusal for a webhook request that must not reach Rasa, or ``None`` to let it through."""
        try:
            body = request.json
        except SanicException:
            return _refuse(400, "the body must be a JSON object")
        if not isinstance(body, dict):
            return _refuse(400, "the body must be a JSON object with 'sender' and 'message'")
        problem = sender_problem(body.get("sender"))
        if problem:
            return _refuse(400, problem)
        message = body.get("message")
        problem = message_problem(message, self.max_message_chars)
        if problem:
            return _refuse(413 if isinstance(message, str) else 400, problem)
        problem = metadata_problem(body.get("metadata"), self.max_message_chars)
        if problem:
            return _refuse(413 if isinstance(body.get("metadata"), dict) else 400, problem)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def check(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            return self.request_problem(request)

        return webhook
