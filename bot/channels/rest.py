"""The REST channel the widget posts to (``POST /webhooks/rest/webhook``), with its input bounded.

It is Rasa's own ``RestInput`` (same URL, same replies, ``metadata`` still passed to the
``UserMessage``) with two differences:

- a request check before the message reaches Rasa: a body that is not a JSON object, a missing or
  malformed sender, a message or metadata over the limit are refused with 400 or 413 and a one-line
  reason, so nothing of them reaches the processor or the tracker store;
- a reply is only returned for a turn that was kept. When the conversation database is unreachable
  before the turn, or reading or saving the conversation fails during it, ``bot.stores.health`` raises
  ``TurnNotSaved`` and this channel answers **503** with ``{"error": NOT_SAVED_REASON}`` and no
  reply; any other failure of the turn answers 500. Rasa's own handler logs every exception and
  returns whatever the bot had said so far with 200, so the visitor would believe the turn kept.
  The widget shows any non-2xx answer as "not sent" with a Retry button.

Streamed replies (``?stream=true``) are not offered: a line already streamed could not be withdrawn.

Once the server (each Sanic worker) is up, it parses one message, so that the sentence encoder is
loaded and its first pass made then rather than during a visitor's first question.
"""

from __future__ import annotations

import logging
import time
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import model_watch
from bot.channels.limits import message_problem, metadata_problem, sender_problem
from bot.stores.health import NOT_SAVED_REASON, TurnNotSaved
from core.settings import load_settings

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying a turn that could not be saved (health.py re-checks
# the database before every turn, so the first turn after the outage is served).
RETRY_AFTER_SECONDS = 30
NOT_ANSWERED_REASON = "Sorry, something went wrong while answering this message. Please try again."


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

    async def answer(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> HTTPResponse:
        """Run the turn; the bot's replies when it was kept, else 503 (not saved) or 500 (failed)."""
        problem = self.request_problem(request)
        if problem is not None:
            return problem
        if bool_arg(request, "stream", default=False):
            return _refuse(400, "streamed replies are not offered here; post without ?stream=true")
        collector = CollectingOutputChannel()
        message = UserMessage(
            self._extract_message(request),
            collector,
            await self._extract_sender(request),
            input_channel=self._extract_input_channel(request),
            metadata=self.get_metadata(request),
        )
        try:
            await on_new_message(message)
        except TurnNotSaved as error:
            logger.warning("Turn not saved, reply withdrawn (503): %s", error)
            return response.json(
                {"error": NOT_SAVED_REASON}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            )
        except CancelledError:
            logger.error("Turn of %r cancelled (timed out)", message.sender_id)
            raise
        except Exception:
            logger.exception("Turn of %r failed, reply withdrawn (500)", message.sender_id)
            return _refuse(500, NOT_ANSWERED_REASON)
        return response.json(collector.messages)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Rasa's two routes (``GET /`` and ``POST /webhook``), the second through ``answer``."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.answer(request, on_new_message)

        @webhook.listener("after_server_start")
        async def warm_up(app: Sanic, _loop: Any) -> None:
            await warm_up_nlu(app)
            await model_watch.start(app)  # the model staff activate on the console, on every worker

        return webhook


async def warm_up_nlu(app: Sanic) -> None:
    """Parse one message once the model is loaded, so the first visitor does not wait for TensorFlow's tracing."""
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        return
    started = time.perf_counter()
    try:
        await agent.parse_message("hello")
    except Exception:  # a warm-up must never stop the server; the first visitor just waits longer
        logger.exception("NLU warm-up failed")
        return
    logger.info("NLU warmed up in %.2f s", time.perf_counter() - started)
