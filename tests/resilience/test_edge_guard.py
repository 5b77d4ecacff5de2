"""The action-server guard inside Rasa: down, erroring or hung action server → apology with the contact.

These run Rasa's real ``RemoteAction`` and the real domain's response generator against real sockets
(a closed port, an HTTP server answering 500, one that never answers); only the Rasa server around
them is left out, so they need no trained model. The end-to-end version is in test_edge_stack.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_patches import action_guard
from core.knowledge import KnowledgeSource
from core.settings import PROJECT_ROOT
from tests.support.ports import refused_port

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


async def run_guarded(domain: Domain, url: str) -> List[Any]:
    """Run ``action_answer_topic`` against ``url`` through the guard, as Rasa's processor would."""
    run = action_guard.guard(RemoteAction.run, TIMEOUT, KnowledgeSource())
    action = RemoteAction("action_answer_topic", EndpointConfig(url))
    tracker = DialogueStateTracker.from_events("guard-test", [UserUttered("How long is MISM?")])
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return await asyncio.wait_for(run(action, CollectingOutputChannel(), nlg, tracker, domain), TIMEOUT + 10)


def assert_apology(events: List[Any], knowledge: Any) -> None:
    assert len(events) == 1 and isinstance(events[0], BotUttered)
    text = events[0].text
    assert text.startswith("Sorry, I can't look that up right now.")
    assert knowledge.contact.email in text and knowledge.contact.phone in text
    assert "{" not in text


def test_action_server_down_gives_the_apology_with_the_contact(domain, knowledge):
    with refused_port() as port:
        events = asyncio.run(run_guarded(domain, f"http://127.0.0.1:{port}/webhook"))
    assert_apology(events, knowledge)


async def _with_server(domain: Domain, handler: Any) -> List[Any]:
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # the system picks a free port
    port = runner.addresses[0][1]
    try:
        return await run_guarded(domain, f"http://127.0.0.1:{port}/webhook")
    finally:
        await runner.cleanup()


def test_action_server_error_gives_the_apology(domain, knowledge):
    async def error(_: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    assert_apology(asyncio.run(_with_server(domain, error)), knowledge)


def test_hung_action_server_is_cut_off_and_answered(domain, knowledge):
    async def hang(_: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(status=200)

    # Bounded by the guard's timeout: without it Rasa waits for the action server for minutes.
    assert_apology(asyncio.run(_with_server(domain, hang)), knowledge)


def test_a_working_action_server_is_left_alone(domain):
    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"events": [], "responses": [{"text": "16 months"}]})

    events = asyncio.run(_with_server(domain, answer))
    assert [event.text for event in events] == ["16 months"]


def test_one_apology_per_turn(domain):
    tracker = DialogueStateTracker.from_events(
        "guard-test",
        [UserUttered("hi"), BotUttered("Sorry", metadata={"utter_action": action_guard.APOLOGY})],
    )
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    contact = {"email": "e", "phone": "p"}
    assert asyncio.run(action_guard.apology(nlg, tracker, CollectingOutputChannel(), contact)) == []
