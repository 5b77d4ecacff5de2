"""Load test: the product against a bare ``rasa init`` bot, side by side in one run.

    .venv/bin/python bench/load.py                        # 10 then 50 conversations, both bots
    .venv/bin/python bench/load.py --levels 10 50 --repeat 2
    .venv/bin/python bench/load.py --url http://127.0.0.1:8080 --token T --levels 50   # a running stack
    .venv/bin/python bench/load.py --only product --levels 50 --repeat 2 --profile var/profile
    .venv/bin/python bench/load.py --model diet=/tmp/diet.tar.gz --model logreg=models/heinz.tar.gz
    .venv/bin/python bench/load.py --stack sqlite --stack sqlite:2 --stack postgres:2
    .venv/bin/python bench/load.py --questions tests/verbatim_dev_questions.yml   # real phrasing

Workload (issue 10): N concurrent conversations of 6 turns over the REST channel
(``POST /webhooks/rest/webhook``); each conversation sends its next message when the previous reply
arrives. Printed per bot and level: messages per second (all turns / wall time), p50 and p95 reply
time, HTTP errors (failures the visitor sees) and *lost turns*: turns that were answered but are not
in the conversation's tracker afterwards, read back through the token-protected tracker API
(``GET /conversations/<id>/tracker``) and compared message by message, in order.

Targets:
- **product**: ``ops.launcher.Stack`` with models/heinz.tar.gz, the action server and the SQL
  tracker store on a fresh SQLite file (what ``make run`` starts);
- **bare**: ``rasa init --no-prompt`` trained with the project's own Rasa (Rasa's default config,
  in-memory tracker store, no action server), built once and cached under ``var/bench/bare``.

With ``--model NAME=PATH`` (repeatable) the product is started once per model, each a stack of its
own (``product-NAME``), so two NLU pipelines are compared side by side in one run.

With ``--stack KIND[:WORKERS]`` (repeatable) the product is started once per topology, side by side
in the same run: ``sqlite`` is what ``make run`` starts; ``postgres`` uses a throw-away database on
the PostgreSQL server of ``--postgres-url`` (created and dropped here); ``WORKERS`` > 1 runs that
many Sanic workers in the Rasa server (``SANIC_WORKERS``), with the Redis lock store at
``--redis-url`` that several workers need. E.g. ``--stack sqlite --stack postgres:2``.

All servers are started before the first measurement and are measured one after the other with
the same messages, so the machine's load is as similar as possible. Each line also gives the CPU
time (user + system) the bot's servers spent per message, from /proc: on a shared machine it is
disturbed far less than msg/s, and on a dedicated 2-core one msg/s approaches 2 s / (CPU per msg)
for a CPU-bound server. Nothing is asserted: record the output in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ops.launcher import VAR_DIR, Stack, free_port, settings_on_free_ports, wait_for  # noqa: E402

RASA = str(Path(sys.executable).with_name("rasa"))

BARE_DIR = VAR_DIR / "bench" / "bare"

# Six turns a visitor might send; conversations start at different points of the list so that
# concurrent conversations do not all send the same text at the same moment.
MESSAGES = [
    "hi",
    "How long is the MISM program?",
    "what are the deadlines for MSIT",
    "is MISM stem designated?",
    "how do I apply",
    "can you give me capstone examples",
    "what does it cost",
    "thanks, bye",
]
TURNS = 6


@dataclass
class Target:
    name: str
    url: str
    token: str
    # Process groups of the servers behind it: their CPU time per message is the figure that the
    # neighbours on a shared machine disturb least.
    groups: List[int] = field(default_factory=list)


def cpu_seconds(groups: List[int]) -> float:
    """User + system CPU time of every process in these process groups (Linux /proc)."""
    if not groups:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in groups:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    target: str
    conversations: int
    messages: int = 0
    seconds: float = 0.0
    latencies: List[float] = field(default_factory=list)
    errors: int = 0
    cpu: float = 0.0
    empty_replies: int = 0
    lost: int = 0
    sent: Dict[str, List[str]] = field(default_factory=dict)

    def line(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p95 = lat[min(len(lat) - 1, int(round(0.95 * len(lat))) - 1)]
        rate = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"{self.target:<14} {self.conversations:>5} conv  {self.messages:>4} msg  {rate:6.1f} msg/s  "
            f"p50 {statistics.median(lat) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
            f"CPU {self.cpu * 1000 / max(1, self.messages):5.0f} ms/msg  "
            f"errors {self.errors}  lost {self.lost}  empty replies {self.empty_replies}"
        )


def conversation_messages(index: int) -> List[str]:
    return [MESSAGES[(index + turn) % len(MESSAGES)] for turn in range(TURNS)]


def use_questions(path: Path) -> None:
    """Replace the workload's messages by the questions of a question file (``--questions``): real
    visitors' phrasing, much of which the NLU cannot shortcut, instead of eight familiar ones."""
    import yaml

    questions = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("questions") or []
    MESSAGES[:] = [str(q["text"]) for q in questions if q.get("text")]


async def run_conversation(session: aiohttp.ClientSession, target: Target, sender: str, result: Result) -> None:
    url = f"{target.url}/webhooks/rest/webhook"
    acknowledged: List[str] = []
    for text in result.sent[sender]:
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError):
            body = None
        result.latencies.append(time.perf_counter() - started)
        if body is None:
            result.errors += 1
            continue
        acknowledged.append(text)
        if not body:
            result.empty_replies += 1
    result.sent[sender] = acknowledged


async def stored_user_texts(session: aiohttp.ClientSession, target: Target, sender: str) -> List[str]:
    url = f"{target.url}/conversations/{sender}/tracker"
    async with session.get(url, params={"token": target.token}) as response:
        response.raise_for_status()
        tracker = await response.json()
    return [event.get("text") for event in tracker.get("events", []) if event.get("event") == "user"]


async def run_level(target: Target, conversations: int) -> Result:
    """``conversations`` concurrent conversations of six turns; then count lost turns."""
    result = Result(target.name, conversations)
    run_id = uuid.uuid4().hex[:8]
    for index in range(conversations):
        result.sent[f"load-{run_id}-{index}"] = conversation_messages(index)
    timeout = aiohttp.ClientTimeout(total=180)
    connector = aiohttp.TCPConnector(limit=conversations + 5)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started, cpu_before = time.perf_counter(), cpu_seconds(target.groups)
        await asyncio.gather(*(run_conversation(session, target, s, result) for s in list(result.sent)))
        result.seconds = time.perf_counter() - started
        result.cpu = cpu_seconds(target.groups) - cpu_before
        result.messages = len(result.latencies)
        for sender, acknowledged in result.sent.items():
            stored = await stored_user_texts(session, target, sender)
            # A turn is lost when it was answered but its message is not stored, or stored out of order.
            matched = 0
            for text in stored:
                if matched < len(acknowledged) and text == acknowledged[matched]:
                    matched += 1
            result.lost += len(acknowledged) - matched
    return result


async def warm_up(target: Target) -> None:
    """Every message a few times, concurrently, so that each Sanic worker has traced its models."""

    async def send(session: aiohttp.ClientSession, text: str) -> None:
        payload = {"sender": f"warm-up-{uuid.uuid4().hex[:6]}", "message": text}
        async with session.post(f"{target.url}/webhooks/rest/webhook", json=payload) as response:
            await response.read()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for _ in range(4):
            await asyncio.gather(*(send(session, text) for text in MESSAGES))


def bare_model() -> Path:
    """The bare ``rasa init`` bot's model, trained once with this Rasa and cached under var/bench/bare."""
    models = sorted((BARE_DIR / "models").glob("*.tar.gz"))
    if not models:
        print(f"training the bare `rasa init` bot in {BARE_DIR} (once; a few minutes)...", flush=True)
        BARE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([RASA, "init", "--no-prompt", "--init-dir", str(BARE_DIR)], check=True, capture_output=True)
        models = sorted((BARE_DIR / "models").glob("*.tar.gz"))
    return models[-1]


def start_bare(log_dir: Path) -> tuple[Target, subprocess.Popen]:
    port, token = free_port(), secrets.token_hex(16)
    log = open(log_dir / "bare.log", "ab")
    command = [RASA, "run", "--model", str(bare_model()), "--port", str(port), "--interface", "127.0.0.1"]
    command += ["--enable-api", f"--auth-token={token}"]
    process = subprocess.Popen(command, cwd=BARE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    target = Target("bare", f"http://127.0.0.1:{port}", token, [process.pid])
    wait_for(f"{target.url}/", 300, process)
    return target, process


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A throw-away database on that PostgreSQL server, dropped afterwards; its URL."""
    import sqlalchemy as sa

    name = f"bench_{secrets.token_hex(6)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield str(sa.engine.make_url(admin_url).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def parse_stack(spec: str) -> Tuple[str, int]:
    """``sqlite`` / ``postgres:2`` -> (kind, Sanic workers)."""
    kind, _, workers = spec.partition(":")
    if kind not in ("sqlite", "postgres") or (workers and not workers.isdigit()):
        raise SystemExit(f"--stack {spec!r}: expected sqlite or postgres, optionally :WORKERS")
    return kind, int(workers or 1)


def profile(stack: Stack, directory: Path, prefix: str = "") -> List[subprocess.Popen]:
    """py-spy (from PyPI, no code change) sampling the Rasa and action servers until stopped."""
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    return [
        subprocess.Popen(
            [py_spy, "record", "--nonblocking", "-r", "50", "-f", "raw", "-o", str(directory / f"{prefix}{name}.txt")]
            + ["--pid", str(stack.processes[name].pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("rasa", "actions")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50], help="concurrent conversations")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all levels")
    parser.add_argument("--only", choices=["product", "bare"], help="measure one bot only")
    parser.add_argument("--url", help="measure a running server (e.g. nginx in front of several) as 'product'")
    parser.add_argument("--token", default=os.environ.get("RASA_TOKEN", ""), help="its Rasa API token")
    parser.add_argument(
        "--profile", type=Path, help="record the product's Rasa and action servers with py-spy into this directory"
    )
    parser.add_argument(
        "--model", action="append", default=[], help="NAME=PATH: a product stack with this model (repeatable)"
    )
    parser.add_argument(
        "--stack", action="append", default=[], help="KIND[:WORKERS]: sqlite or postgres, Sanic workers (repeatable)"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test", help="for --stack postgres"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="lock store when WORKERS > 1")
    parser.add_argument("--questions", type=Path, help="a question file (tests/*questions.yml) as the workload")
    args = parser.parse_args()
    if args.questions:
        use_questions(args.questions)
    if args.stack and args.model:
        raise SystemExit("--stack and --model: give one of them")

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    targets: List[Target] = []
    bare_process: Optional[subprocess.Popen] = None
    stacks: Dict[str, Stack] = {}
    spies: List[subprocess.Popen] = []
    databases = ExitStack()
    try:
        if args.only != "bare":
            if args.url:
                targets.append(Target("product", args.url.rstrip("/"), args.token))
            else:
                # (name, model, database kind, Sanic workers): one stack per --model, or per --stack.
                products = [
                    (f"product-{label}" if label else "product", model, "sqlite", 1)
                    for label, model in [spec.partition("=")[::2] for spec in args.model] or [("", "")]
                ]
                if args.stack:
                    products = [
                        (f"product-{kind}" + (f"x{workers}" if workers > 1 else ""), "", kind, workers)
                        for kind, workers in map(parse_stack, args.stack)
                    ]
                for name, model, kind, workers in products:
                    directory = workdir / name
                    directory.mkdir()
                    if kind == "postgres":
                        database_url = databases.enter_context(postgres_database(args.postgres_url))
                    else:
                        database_url = f"sqlite:///{directory / 'conversations.db'}"
                    settings = settings_on_free_ports(database_url, args.redis_url if workers > 1 else "")
                    settings = dataclasses.replace(settings, rasa_workers=workers)
                    stack = Stack(settings, log_dir=directory, **({"model": Path(model)} if model else {}))
                    stacks[name] = stack
                    started = time.perf_counter()
                    stack.start_actions()
                    stack.start_rasa()
                    print(f"{name} ({stack.model}) started in {time.perf_counter() - started:.0f} s", flush=True)
                    groups = [process.pid for process in stack.processes.values()]  # each its own session
                    targets.append(Target(name, stack.rasa_url, stack.token, groups))
                print(f"logs in {workdir}", flush=True)
        if args.only != "product":
            bare, bare_process = start_bare(workdir)
            targets.append(bare)
        for target in targets:
            asyncio.run(warm_up(target))
        if args.profile:
            for name, stack in stacks.items():
                spies += profile(stack, args.profile, "" if len(stacks) == 1 else f"{name}-")
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the first round", flush=True)
        results: List[Result] = []
        for _ in range(args.repeat):
            for level in args.levels:
                for target in targets:
                    result = asyncio.run(run_level(target, level))
                    results.append(result)
                    print(result.line(), flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} after the last round")
        if any(t.name == "bare" for t in targets) and len(targets) > 1:
            for level in args.levels:
                rates = {
                    t.name: [r.messages / r.seconds for r in results if r.target == t.name and r.conversations == level]
                    for t in targets
                }
                cpu = {
                    t.name: sum(r.cpu for r in results if r.target == t.name and r.conversations == level)
                    / max(1, sum(r.messages for r in results if r.target == t.name and r.conversations == level))
                    for t in targets
                }
                for name in (t.name for t in targets if t.name != "bare"):
                    ratio = statistics.median(rates[name]) / statistics.median(rates["bare"])
                    line = f"{level} conversations: {name}/bare throughput = {ratio:.2f}x (medians)"
                    if cpu[name] > 0:  # unknown for a server this script did not start (--url)
                        line += (
                            f"; CPU per message {name} {cpu[name] * 1000:.0f} ms, bare {cpu['bare'] * 1000:.0f} ms "
                            f"= {cpu['bare'] / cpu[name]:.2f}x the bare bot's messages per CPU-second"
                        )
                    print(line)
    finally:
        for spy in spies:
            spy.send_signal(2)  # py-spy writes its file on SIGINT
            spy.wait(timeout=60)
        if spies:
            print(f"py-spy profiles (collapsed stacks, open with speedscope.app) in {args.profile}")
        for stack in stacks.values():
            stack.stop()
        if bare_process is not None and bare_process.poll() is None:
            os.killpg(bare_process.pid, 15)
            bare_process.wait(timeout=30)
        databases.close()


if __name__ == "__main__":
    main()
