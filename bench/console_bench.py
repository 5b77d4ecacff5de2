"""Staff console benchmark: 100,000 conversations in SQLite and in PostgreSQL.

    .venv/bin/python bench/console_bench.py                      # both databases, 100,000 conversations
    .venv/bin/python bench/console_bench.py --conversations 20000 --backends sqlite

What it does, per database:

1. Creates the ``events`` table with Rasa's own ``SQLTrackerStore`` and bulk-loads generated
   conversations (4-8 events each). Every row is serialised exactly as ``SQLTrackerStore.save``
   does it (``event.as_dict()`` of real Rasa event objects, ``json.dumps``, same columns); saving
   100,000 trackers one by one through Rasa would take far too long. A few conversations are then
   read back through ``SQLTrackerStore.retrieve`` to prove Rasa reads the rows as its own.
2. Runs the console's one-time catch-up (building its summary tables from all events).
3. Times what staff do, through the real Flask app: the first list page, a filtered page, a
   transcript, the missed-questions page, the trends page, and a full-year CSV export of every
   message (streamed and consumed chunk by chunk), with the peak memory growth of the process.

PostgreSQL runs in a dedicated database (``staff_bench_<random>``) that is dropped at the end.
Results print as a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/console_bench.py --hostile            # huge stored messages (issue 9)

``--hostile`` instead stores one ordinary message (the baseline, in the same run), then a 100 KB
and a 1 MB message and a 10 MB row straight into ``events``, and times the catch-up, the
transcript page and the CSV export of each (the console used to freeze for minutes on these).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import io
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import sqlalchemy as sa  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered  # noqa: E402

DAY = 86400.0
DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "inform", "ask_deadlines", "nlu_fallback", "out_of_scope"],
        "entities": ["program", "track"],
        "slots": {"program": {"type": "text", "mappings": [{"type": "from_entity", "entity": "program"}]}},
    }
)

QUESTIONS: Dict[str, List[str]] = {
    "ask_deadlines": [
        "When is the application deadline for {p}?",
        "what are the {p} deadlines",
        "deadline for fall?",
        "Is there an early deadline?",
        "when do applications close",
    ],
    "ask_cost": [
        "How much is tuition for {p}?",
        "what does the {p} cost",
        "tuition fees",
        "Is there financial aid?",
        "how expensive is the program",
    ],
    "ask_requirements": [
        "Do I need the GRE for {p}?",
        "what are the admission requirements",
        "is toefl required",
        "minimum GPA for {p}?",
        "do I need work experience",
    ],
    "ask_how_to_apply": [
        "How do I apply to {p}?",
        "where is the application",
        "how to apply",
        "what documents do I need to apply",
    ],
    "ask_program_overview": ["Tell me about {p}", "what is {p}", "what's the difference between MISM and MSIT"],
    "ask_tracks": ["What tracks does {p} have?", "is there a business intelligence track", "tracks?"],
    "ask_careers": ["What jobs do {p} graduates get?", "career outcomes", "average salary after {p}"],
    "ask_program_length": ["How long is {p}?", "is it 12 or 16 months", "can I finish in one year"],
    "ask_stem_opt": ["Is {p} STEM designated?", "stem opt eligible?", "does it qualify for OPT"],
    "ask_internship": ["Is there an internship in {p}?", "summer internship required?"],
    "ask_format": ["Is {p} online?", "can I study part time", "is it in person"],
    "ask_capstone": ["What is the capstone?", "tell me about the {p} capstone project"],
    "ask_events": ["Are there info sessions?", "upcoming admissions events"],
    "ask_contact": ["How can I contact admissions?", "email me at {email} please", "call me at {phone}"],
    "greet": ["hi", "hello", "Hey there"],
    "thank": ["thanks!", "thank you"],
}
WEIGHTS = {
    "ask_deadlines": 12,
    "ask_cost": 12,
    "ask_requirements": 10,
    "ask_how_to_apply": 9,
    "ask_program_overview": 8,
    "ask_tracks": 7,
    "ask_careers": 6,
    "ask_program_length": 5,
    "ask_stem_opt": 5,
    "ask_internship": 4,
    "ask_format": 4,
    "ask_capstone": 3,
    "ask_events": 3,
    "ask_contact": 3,
    "greet": 6,
    "thank": 3,
}
MISSED_TEXTS = [
    "do you have a phd program",
    "can I bring my dog to campus",
    "what's the weather in pittsburgh",
    "is there a scholarship for veterans",
    "can I transfer credits from another school",
    "do you sponsor h1b",
    "what about housing",
    "asdfgh",
    "is the gre waived for cmu alumni",
    "can I defer my admission",
    "do you accept three year bachelor degrees",
    "parking on campus?",
]
PROGRAM_BUTTONS = [
    {"title": "MISM", "payload": '/inform{"program":"mism"}'},
    {"title": "MSIT", "payload": '/inform{"program":"msit"}'},
]


# -- generation -----------------------------------------------------------------------------------
def _visitor(rng: random.Random, at: float) -> Tuple[UserUttered, str]:
    """A visitor message with a realistic NLU result: mostly understood, sometimes missed."""
    roll = rng.random()
    program = rng.choice(["mism", "msit", None])
    entities = [{"entity": "program", "value": program}] if program else []
    if roll < 0.05:
        intent, confidence, text = "nlu_fallback", round(rng.uniform(0.2, 0.5), 4), rng.choice(MISSED_TEXTS)
    elif roll < 0.08:
        intent, confidence, text = "out_of_scope", round(rng.uniform(0.6, 0.95), 4), rng.choice(MISSED_TEXTS)
    else:
        intent = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        confidence = round(rng.uniform(0.35, 0.6) if roll < 0.12 else rng.uniform(0.7, 0.999), 4)
        text = rng.choice(QUESTIONS[intent]).format(
            p=(program or "the program").upper(),
            email=f"visitor{rng.randint(1, 9999)}@example.com",
            phone=f"412-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        )
    ranking = [{"name": intent, "confidence": confidence}] + [
        {"name": name, "confidence": round((1 - confidence) / 4, 4)} for name in rng.sample(list(WEIGHTS), 4)
    ]
    event = UserUttered(
        text,
        {"name": intent, "confidence": confidence},
        entities,
        parse_data={"intent_ranking": ranking},
        timestamp=at,
        input_channel="rest",
    )
    return event, program or ""


def _suggestions(question: UserUttered, at: float) -> BotUttered:
    """The reply to an unsure question: its likeliest topics as buttons, then a person (the Missed
    page's likely topic is the first button's)."""
    ranked = [entry["name"] for entry in question.parse_data["intent_ranking"][1:]]
    buttons = [{"title": name, "payload": f"/{name}"} for name in ranked if name.startswith("ask_")][:2]
    return BotUttered(
        "I think you're asking about one of these. Which one?",
        {"buttons": [*buttons, {"title": "None of these (talk to a person)", "payload": "/request_human"}]},
        {"utter_action": "utter_suggest_topics"},
        timestamp=at,
    )


def _click(at: float, program: str) -> UserUttered:
    payload = f'/inform{{"program":"{program}"}}'
    return UserUttered(
        payload,
        {"name": "inform", "confidence": 1.0},
        [{"entity": "program", "value": program}],
        parse_data={"intent_ranking": [{"name": "inform", "confidence": 1.0}]},
        timestamp=at,
        input_channel="rest",
    )


def conversation(rng: random.Random, now: float) -> Tuple[str, List[Event]]:
    """One visit: a session start, one or two exchanges, maybe a button click and a slot: 4-8 events."""
    t = now - rng.uniform(0, 365) * DAY
    step = lambda: rng.uniform(0.5, 20.0)  # noqa: E731 - seconds between events
    target = rng.randint(4, 8)
    events: List[Event] = [SessionStarted(timestamp=t)]
    user1, program = _visitor(rng, t + step())
    events += [user1]
    t = user1.timestamp
    missed = user1.intent["name"] in ("nlu_fallback", "out_of_scope")
    action = "action_fallback" if missed else "action_answer_topic"
    offers = not program and not missed and rng.random() < 0.5
    events += [
        ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=t + 0.2),
        _suggestions(user1, t + 0.3)
        if user1.intent["name"] == "nlu_fallback"
        else BotUttered(
            "Which program are you asking about?" if offers else f"Answer about {user1.intent['name']}.",
            {"buttons": PROGRAM_BUTTONS} if offers else {},
            {"utter_action": "utter_answer"},
            timestamp=t + 0.3,
        ),
    ]
    t += 0.3
    if target >= 5 and program:
        events.append(SlotSet("program", program, timestamp=t + 0.01))
    if len(events) + 3 <= target:
        user2 = _click(t + step(), rng.choice(["mism", "msit"])) if offers else _visitor(rng, t + step())[0]
        events += [
            user2,
            ActionExecuted("action_answer_topic", policy="TEDPolicy", confidence=0.97, timestamp=user2.timestamp + 0.2),
            BotUttered("Here is what I found.", {}, {"utter_action": "utter_answer"}, timestamp=user2.timestamp + 0.3),
        ]
    while len(events) < target:
        events.append(ActionExecuted("action_listen", timestamp=events[-1].timestamp + 0.01))
    return uuid.UUID(int=rng.getrandbits(128)).hex, events[:target]


def row(sender_id: str, event: Event) -> Tuple[Any, ...]:
    """The ``events`` row exactly as ``SQLTrackerStore.save`` writes it (rasa/core/tracker_store.py)."""
    data = event.as_dict()
    intent = data.get("parse_data", {}).get("intent", {}).get("name")
    return sender_id, event.type_name, data.get("timestamp"), intent, data.get("name"), json.dumps(data)


def generate(count: int, seed: int, now: float) -> Iterator[Tuple[Any, ...]]:
    rng = random.Random(seed)
    for _ in range(count):
        sender_id, events = conversation(rng, now)
        for event in events:
            yield row(sender_id, event)


# -- loading --------------------------------------------------------------------------------------
COLUMNS = "sender_id, type_name, timestamp, intent_name, action_name, data"


def load_sqlite(path: Path, rows: Iterator[Tuple[Any, ...]]) -> int:
    import sqlite3

    connection = sqlite3.connect(str(path))
    counter = _Counter(rows)
    with connection:
        connection.executemany(f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", counter)
    connection.close()
    return counter.count


def load_postgres(url: str, rows: Iterator[Tuple[Any, ...]]) -> int:
    """COPY in chunks of 50,000 rows (CSV quoting handles any JSON text)."""
    import psycopg2

    parsed = sa.engine.make_url(url)
    connection = psycopg2.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database)
    total = 0
    with connection, connection.cursor() as cursor:
        while True:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            chunk = 0
            for values in rows:
                writer.writerow(["" if v is None else v for v in values])
                chunk += 1
                if chunk == 50_000:
                    break
            if not chunk:
                break
            buffer.seek(0)
            cursor.copy_expert(f"COPY events ({COLUMNS}) FROM STDIN WITH (FORMAT csv)", buffer)
            total += chunk
            if chunk < 50_000:
                break
        cursor.execute("UPDATE events SET intent_name = NULL WHERE intent_name = ''")
        cursor.execute("UPDATE events SET action_name = NULL WHERE action_name = ''")
        cursor.execute("ANALYZE events")
    connection.close()
    return total


class _Counter:
    def __init__(self, rows: Iterator[Tuple[Any, ...]]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[Tuple[Any, ...]]:
        for values in self.rows:
            self.count += 1
            yield values


def verify_with_rasa(tracker_store: SQLTrackerStore, seed: int, now: float) -> int:
    """Read the first conversations back through Rasa and compare them with what was generated."""
    rng = random.Random(seed)
    checked = 0
    for _ in range(5):
        sender_id, events = conversation(rng, now)
        tracker = asyncio.run(tracker_store.retrieve(sender_id))
        assert tracker is not None, sender_id
        stored = [event.as_dict() for event in tracker.events]
        expected = [event.as_dict() for event in events]
        assert stored == expected, f"Rasa read back different events for {sender_id}"
        checked += 1
    return checked


# -- measuring ------------------------------------------------------------------------------------
class PeakMemory:
    """Peak resident memory above the starting point, sampled every 20 ms (includes C buffers)."""

    def __init__(self) -> None:
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.02)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(call: Callable[[], Any], repeat: int = 1) -> Tuple[float, Any]:
    """Median wall time in ms over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


@dataclasses.dataclass
class Result:
    backend: str
    conversations: int
    events: int
    load_s: float
    sync_s: float
    sync_mb: float
    pages: Dict[str, Tuple[float, float]]  # name -> (first ms, warm median ms)
    export_s: float
    export_rows: int
    export_mb: float


def run_console(backend: str, url: str, conversations: int, events: int, load_s: float) -> Result:
    from console.conversations.queries import ConversationFilter
    from core.settings import Settings
    from website import create_app

    os.environ.update(STAFF_USER="bench", STAFF_PASSWORD="bench-password-123")
    app = create_app(dataclasses.replace(Settings(), database_url=url, secret_key="bench"))
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/staff/login", data={"username": "bench", "password": "bench-password-123", "csrf_token": token})
    staff_console = app.extensions["staff_console"]

    with PeakMemory() as memory:
        start = time.perf_counter()
        staff_console.refresh(force=True)
        sync_s = time.perf_counter() - start
    sync_mb = memory.growth_mb

    def get(path: str) -> Callable[[], int]:
        def call() -> int:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return len(response.data)

        return call

    some_id = staff_console.conversation_queries.conversations(ConversationFilter(missed=True), limit=1).rows[0][
        "sender_id"
    ]
    pages = {
        "List, first page (newest 50 + total count)": "/staff/",
        "List, filtered (MSIT + missed + text search)": "/staff/?program=msit&missed=1&q=deadline",
        "List, filtered by topic and date range": "/staff/?topic=ask_cost&since=2020-01-01&until=2100-01-01",
        "List, 20 pages deep (keyset)": None,
        "Transcript": f"/staff/conversations/{some_id}",
        "Missed questions, first page": "/staff/missed",
        "Missed questions, filtered by topic": "/staff/missed?topic=ask_deadlines",
        "Trends, 365 days": "/staff/trends?days=365",
    }
    results: Dict[str, Tuple[float, float]] = {}
    for name, path in pages.items():
        if path is None:
            path = _deep_page(client, 20)
        first, _ = timed(get(path))
        warm, _ = timed(get(path), repeat=5)
        results[name] = (first, warm)

    since = "2000-01-01"
    until = "2100-01-01"
    with PeakMemory() as memory:
        start = time.perf_counter()
        response = client.get(
            f"/staff/export/download?kind=messages&format=csv&since={since}&until={until}", buffered=False
        )
        rows = 0
        for chunk in response.response:
            rows += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        response.close()
        export_s = time.perf_counter() - start
    staff_console.close()
    return Result(
        backend, conversations, events, load_s, sync_s, sync_mb, results, export_s, rows - 1, memory.growth_mb
    )


def _deep_page(client: Any, depth: int) -> str:
    """The URL of the list page ``depth`` pages in, following "Older" links."""
    path = "/staff/"
    for _ in range(depth):
        html = client.get(path).get_data(as_text=True)
        marker = html.split('">Older ›</a>')[0]
        path = marker.rsplit('href="', 1)[1].replace("&amp;", "&")
    return path


# -- databases ------------------------------------------------------------------------------------
def bench_sqlite(count: int, seed: int, now: float, workdir: Path) -> Result:
    path = workdir / f"bench-{secrets.token_hex(3)}.db"
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    try:
        start = time.perf_counter()
        events = load_sqlite(path, generate(count, seed, now))
        load_s = time.perf_counter() - start
        print(
            f"  sqlite: loaded {events:,} events in {load_s:.1f}s; Rasa read back "
            f"{verify_with_rasa(store, seed, now)} conversations identically",
            flush=True,
        )
        return run_console("SQLite", f"sqlite:///{path}", count, events, load_s)
    finally:
        store.engine.dispose()
        path.unlink(missing_ok=True)


def bench_postgres(count: int, seed: int, now: float, host: str, port: int, user: str, admin_db: str) -> Result:
    import psycopg2

    name = f"staff_bench_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host=host, port=port, user=user, dbname=admin_db, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    url = f"postgresql://{user}@{host}:{port}/{name}"
    store = None
    try:
        store = SQLTrackerStore(DOMAIN, dialect="postgresql", host=host, port=port, db=name, username=user)
        start = time.perf_counter()
        events = load_postgres(url, generate(count, seed, now))
        load_s = time.perf_counter() - start
        print(
            f"  postgresql: loaded {events:,} events in {load_s:.1f}s; Rasa read back "
            f"{verify_with_rasa(store, seed, now)} conversations identically",
            flush=True,
        )
        return run_console("PostgreSQL", url, count, events, load_s)
    finally:
        if store is not None:
            store.engine.dispose()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def report(results: List[Result]) -> str:
    lines = [
        "| Step | " + " | ".join(r.backend for r in results) + " |",
        "| --- | " + " | ".join("---:" for _ in results) + " |",
    ]
    lines.append(
        "| Conversations / events loaded | " + " | ".join(f"{r.conversations:,} / {r.events:,}" for r in results) + " |"
    )
    lines.append(
        "| Bulk load (bench set-up, not the console) | " + " | ".join(f"{r.load_s:.1f} s" for r in results) + " |"
    )
    lines.append(
        "| One-time catch-up of the summary tables | "
        + " | ".join(f"{r.sync_s:.1f} s (+{r.sync_mb:.0f} MB)" for r in results)
        + " |"
    )
    for name in results[0].pages:
        lines.append(
            f"| {name} | "
            + " | ".join(f"{r.pages[name][0]:.0f} ms (warm {r.pages[name][1]:.0f} ms)" for r in results)
            + " |"
        )
    lines.append(
        "| Full CSV export of all messages, streamed | "
        + " | ".join(f"{r.export_s:.1f} s, {r.export_rows:,} rows, peak +{r.export_mb:.0f} MB" for r in results)
        + " |"
    )
    return "\n".join(lines)


HOSTILE_SIZES = {"baseline (ordinary message)": 0, "100 KB message": 100_000, "1 MB message": 1_000_000}
HOSTILE_SIZES["10 MB row"] = 10_000_000


def _hostile_text(size: int) -> str:
    """What made the old masking quadratic: long letter and digit runs, an address, a number."""
    if not size:
        return "When is the application deadline for MSIT? Mail me at jane@example.com"
    half = size // 2
    return "mail me at jane@example.com " + "a" * half + " 412 268 2000 " + "7" * (size - half)


def bench_hostile(backend: str, url: str) -> List[Tuple[str, float, float, float]]:
    """(case, catch-up ms, transcript ms, CSV export ms) for each size in HOSTILE_SIZES."""
    from console.data.database import events
    from core.settings import Settings
    from website import create_app

    os.environ.update(STAFF_USER="bench", STAFF_PASSWORD="bench-password-123")
    app = create_app(dataclasses.replace(Settings(), database_url=url, secret_key="bench"))
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/staff/login", data={"username": "bench", "password": "bench-password-123", "csrf_token": token})
    staff_console = app.extensions["staff_console"]
    staff_console.refresh(force=True)
    figures = []
    for number, (name, size) in enumerate(HOSTILE_SIZES.items()):
        sender_id, at = f"hostile-{number}", time.time()
        text = _hostile_text(size)
        data = {"event": "user", "timestamp": at, "text": text, "parse_data": {"text": text, "entities": []}}
        data["parse_data"]["intent"] = {"name": "nlu_fallback", "confidence": 0.1}
        with staff_console.store.session_scope() as connection:
            top = connection.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar()
            row = dict(id=top + 1, sender_id=sender_id, type_name="user", timestamp=at, data=json.dumps(data))
            connection.execute(sa.insert(events).values(**row))
        sync_ms, _ = timed(lambda: staff_console.refresh(force=True))
        transcript_ms, status = timed(lambda sid=sender_id: client.get(f"/staff/conversations/{sid}").status_code)
        assert status == 200, (name, status)
        export = "/staff/export/download?kind=messages&format=csv&since=2000-01-01&until=2100-01-01"
        export_ms, _ = timed(lambda url=export: len(client.get(url).data))
        figures.append((name, sync_ms, transcript_ms, export_ms))
        print(f"  {backend} {name}: catch-up {sync_ms:.0f} ms, transcript {transcript_ms:.0f} ms", flush=True)
    staff_console.close()
    return figures


def hostile_main(args: argparse.Namespace) -> int:
    lines = [
        "| Database | Stored | Catch-up | Transcript page | CSV export (all messages) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "sqlite":
            path = Path(args.workdir) / f"hostile-{secrets.token_hex(3)}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path)).engine.dispose()
            try:
                figures = bench_hostile("SQLite", f"sqlite:///{path}")
            finally:
                path.unlink(missing_ok=True)
        else:
            import psycopg2

            name = f"staff_bench_{secrets.token_hex(4)}"
            admin = psycopg2.connect(host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=args.pg_db)
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
            try:
                store = SQLTrackerStore(
                    DOMAIN, dialect="postgresql", host=args.pg_host, port=args.pg_port, db=name, username=args.pg_user
                )
                store.engine.dispose()
                figures = bench_hostile(
                    "PostgreSQL", f"postgresql://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name}"
                )
            finally:
                with admin.cursor() as cursor:
                    cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                admin.close()
        for case, sync_ms, transcript_ms, export_ms in figures:
            lines.append(f"| {backend} | {case} | {sync_ms:.0f} ms | {transcript_ms:.0f} ms | {export_ms:.0f} ms |")
    print()
    print("\n".join(lines))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default=str(ROOT / "var"))
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--pg-db", default="test", help="existing database to connect to for CREATE DATABASE")
    parser.add_argument("--hostile", action="store_true", help="time huge stored messages instead")
    args = parser.parse_args(argv)
    if args.hostile:
        return hostile_main(args)
    now = time.time()
    results = []
    started = time.perf_counter()
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"{backend}: {args.conversations:,} conversations", flush=True)
        if backend == "sqlite":
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            results.append(bench_sqlite(args.conversations, args.seed, now, workdir))
        elif backend == "postgresql":
            results.append(
                bench_postgres(args.conversations, args.seed, now, args.pg_host, args.pg_port, args.pg_user, args.pg_db)
            )
        else:
            parser.error(f"unknown backend {backend}")
    print()
    print(report(results))
    print(f"\nTotal bench time {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
