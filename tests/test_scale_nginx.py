"""The production topology: two Rasa servers and two action servers behind nginx, no sticky sessions.

Debian's nginx (``make nginx`` installs it) runs as this test's own process with deploy/nginx.conf
rendered on free ports; the Rasa servers share a throw-away PostgreSQL database and the Redis lock
store (deploy.lock_store.SafeRedisLockStore). The test holds 50 six-turn conversations at once,
each conversation's turns spread over both Rasa servers, plus five simultaneous messages to one
conversation, and then checks in PostgreSQL that every turn is stored exactly once, in order, with
its reply. Then it kills (SIGKILL) one Rasa server and one action server mid-traffic: every turn a
visitor saw answered is stored, the others failed visibly, and the surviving servers carry on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest

from core.settings import PROJECT_ROOT
from tests.conftest import skip_or_fail
from webapp.launcher import Stack, free_port, settings_on_free_ports, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf"
TURNS = [
    "hi",
    "How long is the MISM program?",
    "what are the deadlines for MSIT",
    "is MISM stem designated?",
    "how do I apply",
    "thanks, bye",
]
SIMULTANEOUS = [
    "How long is the MISM program?",
    "what are the deadlines for MSIT",
    "is MISM stem designated?",
    "can you give me capstone examples",
    "how do I apply",
]


def render_nginx(
    run_dir: Path, rasa_port: int, rasa_ports: List[int], action_port: int, action_ports: List[int]
) -> Path:
    """deploy/nginx.conf with its placeholders filled in, as a deployment would."""
    text = TEMPLATE.read_text()
    for name, value in {
        "@RUN_DIR@": str(run_dir),
        "@RASA_LISTEN@": f"127.0.0.1:{rasa_port}",
        "@RASA_SERVERS@": "\n        ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in rasa_ports),
        "@ACTION_LISTEN@": f"127.0.0.1:{action_port}",
        "@ACTION_SERVERS@": "\n        ".join(
            f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in action_ports
        ),
    }.items():
        text = text.replace(name, value)
    assert not re.search(r"@[A-Z_]+@", text), "a placeholder was left unfilled"
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture()
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError as error:
        skip_or_fail(f"Redis on 127.0.0.1:6379 is unreachable: {error}")
    return "redis://127.0.0.1:6379/0"


@dataclasses.dataclass
class Topology:
    url: str
    rasa: List[Stack]
    actions: List[Stack]
    nginx: subprocess.Popen


@pytest.fixture()
def topology(trained_model, tmp_path, postgres_url, redis_url) -> Iterator[Topology]:
    nginx_binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx_binary).exists():
        skip_or_fail("Debian's nginx is not installed (`make nginx`, part of `make test`, installs it as root)")
    front, action_front = free_port(), free_port()
    actions = [Stack(settings_on_free_ports(postgres_url), log_dir=tmp_path / f"actions{i}") for i in range(2)]
    # Both Rasa servers reach the action servers through nginx, as in production.
    rasa = [
        Stack(
            dataclasses.replace(settings_on_free_ports(postgres_url, redis_url), action_port=action_front),
            model=trained_model,
            log_dir=tmp_path / f"rasa{i}",
        )
        for i in range(2)
    ]
    run_dir = tmp_path / "nginx"
    run_dir.mkdir()
    config = render_nginx(
        run_dir,
        front,
        [s.settings.rasa_port for s in rasa],
        action_front,
        [s.settings.action_port for s in actions],
    )
    nginx = subprocess.Popen(
        [nginx_binary, "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(run_dir / "stderr.log", "wb"),
        start_new_session=True,
    )
    errors: List[BaseException] = []

    def start(step) -> None:
        try:
            step()
        except BaseException as error:  # reported below, after every thread finished
            errors.append(error)

    try:
        threads = [threading.Thread(target=start, args=(s.start_actions,)) for s in actions]
        threads += [threading.Thread(target=start, args=(s.start_rasa,)) for s in rasa]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in tmp_path.glob("*/*.log"))
            pytest.fail(f"the servers did not start: {errors}\n{logs}")
        wait_for(f"http://127.0.0.1:{front}/", 30, nginx)
        yield Topology(f"http://127.0.0.1:{front}", rasa, actions, nginx)
    finally:
        for stack in rasa + actions:
            stack.stop()
        if nginx.poll() is None:
            os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=20)


@dataclasses.dataclass
class Turn:
    sender: str
    text: str
    status: int
    replies: List[Dict]
    server: str

    @property
    def answered(self) -> bool:
        return self.status == 200 and bool(self.replies)


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> Turn:
    try:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
            replies = await response.json(content_type=None) if response.status == 200 else []
            return Turn(sender, text, response.status, replies or [], response.headers.get("X-Upstream", ""))
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        return Turn(sender, text, 0, [], repr(error))


async def conversation(session: aiohttp.ClientSession, url: str, sender: str, done: List[Turn]) -> List[Turn]:
    turns = []
    for text in TURNS:
        turns.append(await send(session, url, sender, text))
        done.append(turns[-1])
    return turns


async def load(url: str, senders: List[str], done: Optional[List[Turn]] = None) -> List[Turn]:
    """Every conversation at once, each sending its next message when the previous reply arrived."""
    done = [] if done is None else done
    timeout = aiohttp.ClientTimeout(total=240)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=100)) as session:
        results = await asyncio.gather(*(conversation(session, url, s, done) for s in senders))
    return [turn for turns in results for turn in turns]


async def at_once(url: str, sender: str) -> List[Turn]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=240)) as session:
        return list(await asyncio.gather(*(send(session, url, sender, text) for text in SIMULTANEOUS)))


def stored_events(database_url: str, sender: str) -> List[Tuple[str, Dict]]:
    import psycopg2

    with psycopg2.connect(database_url) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
            return [(kind, json.loads(data)) for kind, data in cursor.fetchall()]


def user_turns(events: List[Tuple[str, Dict]]) -> List[List[Tuple[str, Dict]]]:
    """The stored events split at each user message: one list per turn, starting with the message."""
    turns: List[List[Tuple[str, Dict]]] = []
    for kind, data in events:
        if kind == "user":
            turns.append([])
        if turns:
            turns[-1].append((kind, data))
    return turns


def assert_turn_complete(turn: List[Tuple[str, Dict]], label: str) -> None:
    """A stored turn: the message, at least one bot reply, and back to listening, with no other
    visitor message in between (two servers interleaving one conversation would break this)."""
    kinds = [kind for kind, _ in turn]
    assert "bot" in kinds, f"{label}: no reply stored: {kinds}"
    assert turn[-1] == ("action", turn[-1][1]) and turn[-1][1].get("name") == "action_listen", f"{label}: {kinds}"


def test_two_rasa_servers_behind_nginx_store_every_turn_once_in_order(topology: Topology):
    database_url = topology.rasa[0].settings.database_url
    senders = [f"scale-{uuid.uuid4().hex[:8]}-{i}" for i in range(50)]
    turns = asyncio.run(load(topology.url, senders))
    crowded = f"scale-crowd-{uuid.uuid4().hex[:8]}"
    simultaneous = asyncio.run(at_once(topology.url, crowded))

    unanswered = [t for t in turns + simultaneous if not t.answered]
    assert unanswered == [], f"{len(unanswered)} turns without a reply, e.g. {unanswered[:3]}"
    servers = {f"127.0.0.1:{s.settings.rasa_port}" for s in topology.rasa}
    assert {t.server for t in turns} == servers, "nginx must spread the turns over both Rasa servers"
    per_conversation = {s: [t.server for t in turns if t.sender == s] for s in senders}
    switched = [s for s, used in per_conversation.items() if any(a != b for a, b in zip(used, used[1:]))]
    assert len(switched) >= 40, f"only {len(switched)} of 50 conversations moved between servers"

    for sender in senders:
        events = stored_events(database_url, sender)
        stored = [data["text"] for kind, data in events if kind == "user"]
        assert stored == TURNS, f"{sender}: stored {stored}"
        for number, turn in enumerate(user_turns(events)):
            assert_turn_complete(turn, f"{sender} turn {number}")

    events = stored_events(database_url, crowded)
    assert Counter(data["text"] for kind, data in events if kind == "user") == Counter(SIMULTANEOUS)
    for number, turn in enumerate(user_turns(events)):
        assert_turn_complete(turn, f"{crowded} turn {number}")


def test_killed_rasa_and_action_servers_lose_no_answered_turn(topology: Topology):
    database_url = topology.rasa[0].settings.database_url
    senders = [f"kill-{uuid.uuid4().hex[:8]}-{i}" for i in range(20)]

    done: List[Turn] = []

    def kill_one_of_each() -> None:
        """SIGKILL one Rasa server and one action server once a quarter of the turns went through."""
        deadline = time.monotonic() + 300
        while len(done) < len(senders) * len(TURNS) // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        for stack, name in ((topology.rasa[1], "rasa"), (topology.actions[1], "actions")):
            process: Optional[subprocess.Popen] = stack.processes.get(name)
            assert process is not None
            os.killpg(process.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_one_of_each)
    killer.start()
    turns = asyncio.run(load(topology.url, senders, done))
    killer.join()

    answered = [t for t in turns if t.answered]
    assert len(answered) >= len(turns) // 2, "the surviving servers must carry on"

    async def one_more_turn_each() -> List[Turn]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(*(send(session, topology.url, s, "thank you") for s in senders))

    # The stack recovered: every conversation is answered again, whichever server takes the turn
    # (the surviving one, or the killed one once restarted).
    after = asyncio.run(one_more_turn_each())
    assert all(t.answered for t in after), "after the kill every conversation is answered again"
    turns = [*turns, *after]
    for sender in senders:
        stored = [data["text"] for kind, data in stored_events(database_url, sender) if kind == "user"]
        acknowledged = [t.text for t in turns if t.sender == sender and t.answered]
        missing = [text for text in acknowledged if text not in stored]
        assert missing == [], f"{sender}: answered but not stored: {missing}"
        assert len(stored) == len(set(stored)), f"{sender}: a turn was stored twice: {stored}"
