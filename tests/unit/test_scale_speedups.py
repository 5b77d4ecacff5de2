"""The cached action-reply validator and event-class lookup (bot/rasa_patches/speedups.py) match Rasa's own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_patches import speedups
from bot.rasa_patches.patch import applied

GOOD = {
    "events": [{"event": "slot", "name": "program", "value": "mism", "timestamp": None}],
    "responses": [{"response": "utter_answer_deadlines", "subject": "MISM"}],
}
BAD = [
    {"events": [{"event": "slot", "value": "mism"}], "responses": []},  # a slot event without its name
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


def test_cached_validator_matches_rasas_own():
    action = RemoteAction("action_answer_topic", EndpointConfig("http://127.0.0.1:1/webhook"))
    stock, before = speedups.RASA_VALIDATE_ACTION_RESULT, RemoteAction._validate_action_result
    assert stock is before, "Rasa's own validator is in place before the patch"
    assert stock(action, GOOD) is True
    for bad in BAD:
        with pytest.raises(ValidationError):
            stock(action, bad)
    with applied(speedups.patches()):
        assert RemoteAction._validate_action_result is not stock
        assert action._validate_action_result(GOOD) is True
        for bad in BAD:
            with pytest.raises(ValidationError, match="Failed to validate Action server response"):
                action._validate_action_result(bad)
    assert RemoteAction._validate_action_result is stock, "the patch is undone"


def test_cached_event_lookup_matches_rasas_own():
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    expected = {name: speedups.RASA_RESOLVE_BY_TYPE(name) for name in names}
    with applied(speedups.patches()):
        assert Event.resolve_by_type is not speedups.RASA_RESOLVE_BY_TYPE
        for _ in range(2):  # the second pass comes from the cache
            assert {name: Event.resolve_by_type(name) for name in names} == expected
        assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
        assert Event.resolve_by_type("no_such_event", ActionExecuted) is ActionExecuted  # not cached
        with pytest.raises(ValueError, match="Unknown event name"):
            Event.resolve_by_type("no_such_event")
        stored = [UserUttered("hi", {"name": "greet"}), BotUttered("hello"), SlotSet("program", "mism")]
        assert [Event.from_parameters(e.as_dict()) for e in stored] == stored
    assert Event.resolve_by_type == speedups.RASA_RESOLVE_BY_TYPE, "the patch is undone"


def _events_of_every_kind() -> list:
    """One serialised event of each kind an action server may send, plus broken variants of each."""
    from rasa.shared.core import events as e

    valid = [
        e.UserUttered("hi", {"name": "greet", "confidence": 0.9}, [{"entity": "program", "value": "mism"}]),
        e.BotUttered("hello", {"buttons": []}, {"utter_action": "utter_greet"}),
        e.SlotSet("program", "mism"),
        e.Restarted(),
        e.AllSlotsReset(),
        e.ReminderScheduled("EXTERNAL_dry", __import__("datetime").datetime(2027, 1, 1), name="r1"),
        e.ReminderCancelled(name="r1"),
        e.ActionReverted(),
        e.UserUtteranceReverted(),
        e.FollowupAction("action_listen"),
        e.ConversationPaused(),
        e.ConversationResumed(),
        e.ActionExecuted("action_listen"),
        e.AgentUttered("agent text"),
        e.ActiveLoop("followup_form"),
        e.LoopInterrupted(True),
        e.ActionExecutionRejected("followup_form"),
        e.SessionStarted(),
        e.EntitiesAdded([{"entity": "program", "value": "mism"}]),
        e.DefinePrevUserUtteredFeaturization(False),
    ]
    dicts = [event.as_dict() for event in valid]
    broken = []
    for data in dicts:
        for key in data:
            if key != "event":
                broken.append({**data, key: {"not": "expected"}})  # a wrong type wherever the schema says one
        broken.append({key: value for key, value in data.items() if key != "name"})
    broken += [{"event": "no_such_event"}, {"event": 3}, {"name": "program"}, "slot", None, []]
    return dicts + broken


def test_validation_by_event_type_gives_the_full_schemas_verdict():
    """The fast path (one schema per event type) accepts exactly what Rasa's whole ``oneOf`` schema accepts."""
    assert speedups._event_dispatch() is not None, "Rasa's events schema no longer splits by event type"
    full = speedups._action_result_validator()
    cases = _events_of_every_kind()
    agreed = {True: 0, False: 0}
    for event in cases:
        for reply in ({"events": [event], "responses": []}, {"events": [GOOD["events"][0], event]}):
            verdict = full.is_valid(reply)
            assert speedups._valid_by_event_type(reply) is verdict, reply
            agreed[verdict] += 1
    for reply in [GOOD, *BAD, {}, {"responses": []}, {"events": None}]:
        assert speedups._valid_by_event_type(reply) is full.is_valid(reply), reply
    # Both verdicts occur, so the comparison above can fail either way.
    assert agreed[True] >= 20 and agreed[False] >= 20, agreed


def _conversation(sessions: int, turns: int) -> list:
    from rasa.shared.core.events import SessionStarted

    events = []
    for session in range(sessions):
        events += [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
        for turn in range(turns):
            events += [
                UserUttered(f"question {session}.{turn}", {"name": "ask_duration", "confidence": 0.9}),
                SlotSet("program", "mism"),
                ActionExecuted("action_answer_topic"),
                BotUttered(f"answer {session}.{turn}", metadata={"utter_action": "utter_answer_duration"}),
                ActionExecuted("action_listen"),
            ]
    # Increasing timestamps; as in Rasa, a session's ``action_session_start`` is not older than its
    # ``session_started`` (the latest session is found by timestamp).
    for index, event in enumerate(events):
        event.timestamp = 1_700_000_000 + index - (1 if isinstance(event, SessionStarted) else 0)
    return events


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_prepared_statements_read_and_write_what_rasas_store_does(database, tmp_path):
    """Our store and Rasa's stock SQL store, on one database: each reads what the other wrote, the
    latest session alone or all of them, and incremental saves store every event exactly once."""
    from contextlib import ExitStack

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.stores.tracker_store import GuardedSQLTrackerStore
    from tests.conftest import fresh_postgres_database

    with ExitStack() as stack:
        if database == "sqlite":
            options = {"dialect": "sqlite", "db": str(tmp_path / "conversations.db")}
        else:
            url = sa.engine.make_url(stack.enter_context(fresh_postgres_database()))
            options = {"dialect": "postgresql", "host": url.host, "port": url.port, "db": url.database}
            options["username"] = url.username
        domain = Domain.from_dict({"slots": {"program": {"type": "any", "mappings": [{"type": "custom"}]}}})
        ours = GuardedSQLTrackerStore(domain, **options)
        stock = SQLTrackerStore(domain, **options)
        try:
            events = _conversation(sessions=2, turns=3)
            for writer, reader, sender in ((ours, stock, "written-by-ours"), (stock, ours, "written-by-rasa")):
                _run(writer.save(DialogueStateTracker.from_events(sender, events[:10], domain.slots)))
                for event in events[10:]:  # then as Rasa does each turn: read the latest session, add, save
                    tracker = _run(writer.retrieve(sender))
                    tracker.update(event)
                    _run(writer.save(tracker))
                for store in (ours, stock):
                    latest = _run(store.retrieve(sender))
                    full = _run(store.retrieve_full_tracker(sender))
                    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in events]
                    second = 3 + 3 * 5  # the second session's first event: one session is 3 + 3 turns of 5
                    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in events[second:]]
                assert _run(reader.retrieve(sender)).current_state() == _run(writer.retrieve(sender)).current_state()
            with ours.session_scope() as session:
                rows = session.execute(sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).fetchall()
            assert dict(rows) == {"written-by-ours": len(events), "written-by-rasa": len(events)}
            assert _run(ours.retrieve("nobody")) is None
        finally:
            ours.engine.dispose()
            stock.engine.dispose()


def _run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_nlu_on_its_thread_parses_as_rasa_does(trained_model):
    """The NLU thread returns what Rasa's own ``parse_message`` returns, also for many parses at once."""
    import asyncio

    import yaml
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    from core.settings import PROJECT_ROOT

    holdout = yaml.safe_load((PROJECT_ROOT / "tests" / "nlu_holdout.yml").read_text(encoding="utf-8"))
    texts = [line[2:] for block in holdout["nlu"] for line in block["examples"].splitlines() if line.startswith("- ")]
    texts = texts[::4] + ["", "<script>alert(1)</script> MISM deadline?", "x" * 3000]
    agent = Agent.load(str(trained_model))
    processor = agent.processor

    def parse_all(concurrently: bool) -> list:
        async def parse(text: str) -> dict:
            return await MessageProcessor.parse_message(processor, UserMessage(text, sender_id="parse-test"))

        async def run() -> list:
            if concurrently:
                return list(await asyncio.gather(*(parse(text) for text in texts)))
            return [await parse(text) for text in texts]

        return asyncio.new_event_loop().run_until_complete(run())

    assert MessageProcessor.parse_message is speedups.RASA_PARSE_MESSAGE
    expected = parse_all(concurrently=False)
    with applied(speedups.patches()):
        assert MessageProcessor.parse_message is not speedups.RASA_PARSE_MESSAGE
        for concurrently in (False, True):
            got = parse_all(concurrently)
            assert [p["intent"]["name"] for p in got] == [p["intent"]["name"] for p in expected]
            for mine, rasas in zip(got, expected):
                assert mine["entities"] == rasas["entities"]
                assert mine["intent"]["confidence"] == pytest.approx(rasas["intent"]["confidence"], abs=1e-5)
    assert len({p["intent"]["name"] for p in expected}) > 10  # a real spread of intents was compared
