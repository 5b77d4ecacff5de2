"""Conversations for the console's tests, written by Rasa's own SQLTrackerStore.

The console reads what Rasa writes, so the tests do not hand-craft rows: they build Rasa event
objects, put them on a ``DialogueStateTracker`` and save it with ``SQLTrackerStore.save``, exactly
as the Rasa server does after each message.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

DAY = 86400.0
# The console's tests count per local day in the office's zone (the staff_env fixture's).
OFFICE_ZONE = ZoneInfo("America/New_York")


def seed_now(now: float) -> float:
    """``now``, or 22:00 today (office time) when it is later than 22:30.

    The conversations sit at whole days before "now" plus a few minutes; run in the last minutes
    before midnight, "2 days ago + 10 minutes" fell on the day after "3 days ago" and the per-day
    counts changed (a flake seen in CI at 23:58 Eastern). Two hours keep a day-saving shift clear too.
    """
    local = datetime.fromtimestamp(now, OFFICE_ZONE)
    if (local.hour, local.minute) < (22, 30):
        return now
    return local.replace(hour=22, minute=0, second=0, microsecond=0).timestamp()


NOW = seed_now(time.time())

DOMAIN = Domain.from_dict(
    {
        "intents": [
            "greet",
            "goodbye",
            "inform",
            "ask_deadlines",
            "ask_cost",
            "ask_contact",
            "ask_tracks",
            "ask_scholarships",
            "out_of_scope",
            "nlu_fallback",
            "feedback",
        ],
        "entities": ["program", "track", "helpful"],
        "slots": {
            "program": {
                "type": "categorical",
                "values": ["mism", "msit"],
                "mappings": [{"type": "from_entity", "entity": "program"}],
            },
            "track": {"type": "text", "mappings": [{"type": "from_entity", "entity": "track"}]},
            "topic": {"type": "text", "mappings": [{"type": "custom"}]},
        },
        "actions": ["action_answer_topic", "action_fallback", "action_handle_miss", "action_record_feedback"],
    }
)

PROGRAM_BUTTONS = [
    {"title": "MISM", "payload": '/inform{"program":"mism"}'},
    {"title": "MSIT", "payload": '/inform{"program":"msit"}'},
]


def tracker_store(url: str) -> SQLTrackerStore:
    """Rasa's SQL tracker store on ``url`` (``sqlite:///file`` or ``postgresql://...``)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SQLTrackerStore(DOMAIN, dialect="sqlite", db=parsed.database)
    return SQLTrackerStore(
        DOMAIN,
        dialect="postgresql",
        host=parsed.host,
        port=parsed.port or 5432,
        db=parsed.database,
        username=parsed.username,
        password=parsed.password,
    )


def save(store: SQLTrackerStore, sender_id: str, events: List[Event]) -> None:
    """Append ``events`` to the conversation and save it the way the Rasa server does."""
    tracker = asyncio.run(store.retrieve(sender_id)) or DialogueStateTracker(sender_id, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    asyncio.run(store.save(tracker))


def user(
    text: str,
    intent: Optional[str],
    confidence: float,
    at: float,
    entities: Optional[List[Dict[str, Any]]] = None,
    ranking: Optional[List[tuple]] = None,
) -> UserUttered:
    ranking = ranking or [(intent, confidence)]
    return UserUttered(
        text,
        {"name": intent, "confidence": confidence} if intent else None,
        entities or [],
        parse_data={"intent_ranking": [{"name": name, "confidence": score} for name, score in ranking]},
        timestamp=at,
    )


def bot(
    text: str, at: float, buttons: Optional[List[Dict[str, str]]] = None, utter: Optional[str] = None
) -> BotUttered:
    return BotUttered(
        text, {"buttons": buttons} if buttons else {}, {"utter_action": utter} if utter else {}, timestamp=at
    )


def action(name: str, at: float, policy: str = "RulePolicy", confidence: float = 1.0) -> ActionExecuted:
    return ActionExecuted(name, policy=policy, confidence=confidence, timestamp=at)


def start(at: float) -> List[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at + 0.01),
        ActionExecuted("action_listen", timestamp=at + 0.02),
    ]


def answer(text: str, at: float, name: str = "action_answer_topic", buttons=None) -> List[Event]:
    return [action(name, at), bot(text, at + 0.01, buttons), ActionExecuted("action_listen", timestamp=at + 0.02)]


def typed_answer(text: str, at: float, utter: str, topic: Optional[str] = None, name: str = "") -> List[Event]:
    """A reply as the assistant's actions write it: the action, the bot message with its response
    name (``utter_action``), then the ``topic`` slot the answer action sets, then listening."""
    events: List[Event] = [action(name or ("action_answer_topic" if topic else "action_handle_miss"), at)]
    events.append(bot(text, at + 0.01, utter=utter))
    if topic:
        events.append(SlotSet("topic", topic, timestamp=at + 0.02))
    return events + [ActionExecuted("action_listen", timestamp=at + 0.03)]


def suggestions(at: float, topics: List[str]) -> List[Event]:
    """The miss action's reply to a question it could not place: "I think you're asking about one of
    these", the likeliest ``topics`` as buttons (best first, their intents as payloads), then a person."""
    buttons = [{"title": topic.replace("_", " ").capitalize(), "payload": f"/ask_{topic}"} for topic in topics]
    buttons.append({"title": "None of these (talk to a person)", "payload": "/request_human"})
    text = "I think you're asking about one of these. Which one?"
    return [
        action("action_handle_miss", at),
        bot(text, at + 0.01, buttons, utter="utter_suggest_topics"),
        ActionExecuted("action_listen", timestamp=at + 0.02),
    ]


def feedback_click(value: str, at: float) -> List[Event]:
    """A click on "helpful" ("yes") or "not helpful" ("no") under an answer, and the acknowledgement."""
    payload = '/feedback{"helpful":"%s"}' % value
    return [user(payload, "feedback", 1.0, at, [{"entity": "helpful", "value": value}])] + feedback_reply(value, at + 1)


def typed_complaint(text: str, at: float) -> List[Event]:
    """A typed "that's not what I asked" (intent ``complain``) and the "not helpful" reply."""
    return [user(text, "complain", 0.93, at)] + feedback_reply("no", at + 1)


def feedback_reply(value: str, at: float) -> List[Event]:
    response = "utter_feedback_helpful" if value == "yes" else "utter_feedback_not_helpful"
    text = "Thanks!" if value == "yes" else "Sorry about that — what were you looking for?"
    return typed_answer(text, at, response, name="action_record_feedback")


def seed_with(url: str, conversations: Dict[str, List[Event]]) -> str:
    """The shared conversations (``seed``) plus ``conversations`` (sender -> events); returns ``url``."""
    seed(url)
    store = tracker_store(url)
    for sender, events in conversations.items():
        save(store, sender, events)
    store.engine.dispose()
    return url


SCRIPT_TEXT = "<script>alert('x')</script> do you have a basket weaving track?"
INJECTION_TEXT = "' OR 1=1 --"
# A spreadsheet would run this cell as a formula unless the CSV export defuses it.
FORMULA_TEXT = '=HYPERLINK("https://evil.example/","Click for your admission letter")'
CONTACT_TEXT = "email me at jane.doe@example.com or call 412-268-2000"


def seed(url: str) -> str:
    """Seven conversations covering what the console shows, timestamps relative to now; returns ``url``."""
    store = tracker_store(url)

    t = NOW - 1 * DAY
    save(
        store,
        "visitor-msit-buttons",
        start(t)
        + answer("Which program are you interested in?", t + 1, "utter_ask_program", PROGRAM_BUTTONS)
        + [user('/inform{"program":"msit"}', "inform", 1.0, t + 5, [{"entity": "program", "value": "msit"}])]
        + answer("MSIT is a 16-month program.", t + 6)
        + [
            SlotSet("program", "msit", timestamp=t + 6.5),
            user(
                "When is the application deadline?",
                "ask_deadlines",
                0.95,
                t + 20,
                ranking=[("ask_deadlines", 0.95), ("ask_how_to_apply", 0.03)],
            ),
        ]
        + answer("The final deadline is in January.", t + 21),
    )

    t = NOW - 2 * DAY
    save(
        store,
        "visitor-missed",
        start(t)
        + [user("Do you offer a PhD in basket weaving?", "out_of_scope", 0.91, t + 2)]
        + answer("Sorry, I can only help with MISM and MSIT.", t + 3, "action_fallback")
        + [user(SCRIPT_TEXT, "nlu_fallback", 0.3, t + 10, ranking=[("nlu_fallback", 0.3), ("ask_tracks", 0.28)])]
        + answer("I did not get that.", t + 11, "action_fallback")
        + [user("what's the tuition??", "ask_cost", 0.41, t + 20, [{"entity": "program", "value": "mism"}])]
        + answer("Tuition for MISM is on the website.", t + 21)
        + [user("Whats the tuition", "ask_cost", 0.45, t + 30)]
        + answer("Tuition for MISM is on the website.", t + 31)
        + [user(CONTACT_TEXT, "ask_contact", 0.92, t + 40)]
        + answer("Admissions will reach out.", t + 41),
    )
    # A second visitor asks the same question in the same words: grouped with the one above.
    t = NOW - 3 * DAY
    save(
        store,
        "visitor-tuition-2",
        start(t) + [user("What's the tuition?", "ask_cost", 0.38, t + 2)] + answer("Tuition is on the website.", t + 3),
    )

    t = NOW - 3 * DAY + 600
    save(
        store,
        "visitor-injection",
        start(t)
        + [user(INJECTION_TEXT, "greet", 0.8, t + 2)]
        + answer("Hi!", t + 3)
        + [user(FORMULA_TEXT, "greet", 0.99, t + 4)]
        + answer("Hi again!", t + 5),
    )

    t = NOW - 400 * DAY
    save(store, "visitor-old", start(t) + [user("hi", "greet", 0.99, t + 1)] + answer("Hello!", t + 2))

    t = NOW - 400 * DAY
    save(store, "visitor-returning", start(t) + [user("hello", "greet", 0.99, t + 1)] + answer("Hello!", t + 2))
    save(
        store,
        "visitor-returning",
        start(NOW - 10 * DAY)
        + [
            user(
                "which tracks does msit have",
                "ask_tracks",
                0.88,
                NOW - 10 * DAY + 1,
                [{"entity": "program", "value": "msit"}],
            )
        ]
        + answer("MSIT has several tracks.", NOW - 10 * DAY + 2),
    )

    save(store, "visitor-silent", start(NOW - 5 * DAY))

    store.engine.dispose()
    return url


def insert_event(
    connection: Any,
    sender_id: str,
    data: Any,
    at: float = NOW,
    type_name: str = "user",
    event_id: Optional[int] = None,
) -> int:
    """Write one row straight into Rasa's ``events`` table, as an old, damaged or hostile row would be.

    ``data`` is the event's JSON (a dict is serialised the way Rasa does, a string is stored as is).
    """
    from console.data.database import events

    if event_id is None:
        event_id = int(connection.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar()) + 1
    connection.execute(
        sa.insert(events).values(
            id=event_id,
            sender_id=sender_id,
            type_name=type_name,
            timestamp=at,
            intent_name=None,  # the console reads the intent from the JSON, as Rasa does
            action_name=None,
            data=data if isinstance(data, str) else json.dumps(data),
        )
    )
    return event_id


def user_data(text: str, intent: str = "greet", confidence: float = 0.9, entities: Any = (), at: float = NOW) -> dict:
    """The JSON Rasa stores for a visitor message."""
    return {
        "event": "user",
        "timestamp": at,
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": list(entities),
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        },
    }
