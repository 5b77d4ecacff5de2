"""A failed action server is never silence: Rasa itself answers with an apology and the contact.

Out of the box, when a custom action cannot run (server down, HTTP 5xx, a reply that is not valid),
Rasa logs the error, drops the action's events and answers the visitor with nothing; a hung action
server keeps the visitor waiting for minutes. ``install()`` wraps Rasa's ``RemoteAction.run`` so the
call is bounded in time and any failure becomes ``utter_action_failed`` (domain.yml) filled with the
admissions e-mail and phone from the knowledge file. It sits inside Rasa's processor, so every
channel (REST, socket.io, the HTTP API) gets the same reply.

Rasa has no hook for this (the timeout of the action call is fixed in ``RemoteAction.run``), so
``bot/rasa_patches/install.py`` installs the wrapper with the other patches.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Callable, Dict, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import BotUttered, Event, UserUttered

from bot.rasa_patches.patch import Patch
from core.knowledge import KnowledgeSource

logger = logging.getLogger(__name__)

APOLOGY = "utter_action_failed"


def _already_apologised(tracker: Any) -> bool:
    """True when this turn already got the apology (a second failing action adds nothing)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered) and event.metadata.get("utter_action") == APOLOGY:
            return True
    return False


async def apology(nlg: Any, tracker: Any, output_channel: Any, contact: Dict[str, str]) -> List[Event]:
    """The ``utter_action_failed`` message as events, to be sent like any action's reply."""
    if _already_apologised(tracker):
        return []
    draft = await nlg.generate(APOLOGY, tracker, output_channel.name(), **contact)
    if not draft:
        return []
    draft["utter_action"] = APOLOGY
    return [create_bot_utterance(draft)]


def guard(run: Callable[..., Any], timeout: float, knowledge: KnowledgeSource) -> Callable[..., Any]:
    """``RemoteAction.run`` bounded by ``timeout`` seconds, answering with the apology on any failure."""

    @functools.wraps(run)
    async def guarded_run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise  # the action declined to run: Rasa's policies pick another one, as designed
        except asyncio.TimeoutError:
            logger.error("Action %s: no answer from the action server within %.0f s", self.name(), timeout)
        except Exception:  # noqa: BLE001 - whatever went wrong, the visitor gets a reply
            logger.exception("Action %s failed; the visitor gets %s", self.name(), APOLOGY)
        contact = knowledge.get().contact
        return await apology(nlg, tracker, output_channel, {"email": contact.email, "phone": contact.phone})

    return guarded_run


def patch(timeout: float, knowledge: KnowledgeSource) -> Patch:
    """``RemoteAction.run`` bounded by ``timeout`` and answering with the apology on any failure."""
    return Patch(RemoteAction, "run", guard(RemoteAction.run, timeout, knowledge))
