"""``admissions-logs``: the staff console's data from the command line.

    admissions-logs list [--missed] [--program ID] [--search TEXT] [--limit 20]
    admissions-logs show CONVERSATION_ID
    admissions-logs missed [--status open] [--topic deadlines]
    admissions-logs stats [--days 30]
    admissions-logs export --format csv|jsonl --since DATE [--until DATE] [--kind messages|conversations]
    admissions-logs followups [--status open|answered|closed|all] [--program ID] [--output FILE]
    admissions-logs purge --older-than DAYS [--dry-run]
    admissions-logs sync [--rebuild]
    admissions-logs knowledge [--stale] | knowledge export [--output FILE] | knowledge import [FILE] --note TEXT
    admissions-logs knowledge history [--path FACT]
    admissions-logs erase --conversation ID | --email ADDRESS [--yes]
    admissions-logs training export|list
    admissions-logs set-password USER [--role editor|viewer]

Every command takes ``--database-url`` (default: ``DATABASE_URL``, else the SQLite file under var/).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import secrets
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, TextIO

from sqlalchemy.exc import SQLAlchemyError

from console.config import load_config
from console.console import Console
from console.conversations.queries import ConversationFilter, summary_record
from console.data import erasure
from console.data.dates import day_range, format_time, parse_date, today
from console.data.events import TurnBuilder
from console.data.privacy import display_id, mask_value
from console.data.queries import CONVERSATION_STATUSES, MESSAGE_STATUSES
from console.data.retention import purge
from console.data.review import nlu_yaml
from console.exports.formats import FORMATS, KINDS, export_chunks
from console.followups.inbox import FollowupFilter, crm_csv
from console.missed.queries import MissedFilter
from console.trends.queries import AnswerMix
from core.clock import ClockError, office_clock
from core.handoff import FOLLOWUP_STATUSES
from core.knowledge import KnowledgeError, parse_knowledge
from core.knowledge_store import ChangeRefused, KnowledgeStore, export_yaml
from core.settings import load_settings
from core.timeline import stale_facts
from core.topics import ANSWER_TYPE_LABELS, intent_for, topic_for


def _date(value: str) -> date:
    parsed = parse_date(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}")
    return parsed


def build_parser(programs: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command line; ``programs`` are the program ids ``--program`` accepts (the knowledge file's)."""
    parser = argparse.ArgumentParser(
        prog="admissions-logs", description="Review the Heinz Admissions Assistant's stored conversations."
    )
    parser.add_argument("--database-url", help="SQLAlchemy URL of the tracker store (default: from settings)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="conversations, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--missed", action="store_true", help="only conversations where the bot missed something")
    listing.add_argument("--program", choices=list(programs) or None, help="program id from the knowledge file")
    listing.add_argument("--topic", help="intent, e.g. ask_deadlines")
    listing.add_argument("--status", choices=list(CONVERSATION_STATUSES))
    listing.add_argument("--search", help="text in visitor messages")
    listing.add_argument("--since", type=_date)
    listing.add_argument("--until", type=_date)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    show = commands.add_parser("show", help="one conversation's transcript")
    show.add_argument("conversation_id")
    show.add_argument("--json", action="store_true")

    missed = commands.add_parser("missed", help="questions the bot could not answer, grouped")
    missed.add_argument("--status", choices=list(MESSAGE_STATUSES) + ["all"], default="open")
    missed.add_argument("--since", type=_date)
    missed.add_argument("--until", type=_date)
    missed.add_argument("--limit", type=int, default=30)
    missed.add_argument(
        "--topic", help="only questions likely about this topic (e.g. deadlines), as the Missed page's filter"
    )

    stats = commands.add_parser("stats", help="totals, top topics and program interest")
    stats.add_argument("--days", type=int, default=30)

    export = commands.add_parser("export", help="stream messages or conversations as CSV or JSON Lines")
    export.add_argument("--format", choices=list(FORMATS), required=True)
    export.add_argument("--since", type=_date, required=True)
    export.add_argument("--until", type=_date, help="last day included (default: today)")
    export.add_argument("--kind", choices=list(KINDS), default="messages")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument(
        "--unmask",
        action="store_true",
        help="keep contact details and card numbers in message text (authorised operators only)",
    )

    followups = commands.add_parser("followups", help="follow-up requests as a CSV for the CRM (Slate) import")
    followups.add_argument("--status", choices=list(FOLLOWUP_STATUSES) + ["all"], default="all")
    followups.add_argument("--program", help="program id, or 'undecided'")
    followups.add_argument("--output", "-o", help="file to write (default: standard output)")

    purge_cmd = commands.add_parser("purge", help="delete conversations idle longer than the retention period")
    purge_cmd.add_argument("--older-than", type=int, metavar="DAYS", help="default: RETENTION_DAYS from settings")
    purge_cmd.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    sync = commands.add_parser("sync", help="bring the console's summary tables up to date")
    sync.add_argument("--rebuild", action="store_true", help="re-read every event from scratch")

    knowledge = commands.add_parser(
        "knowledge", help="the facts visitors get: which are stale; export, import, history of staff's changes"
    )
    knowledge.add_argument(
        "action",
        nargs="?",
        choices=["export", "import", "history"],
        help="export: the current knowledge as YAML in the file's format; import FILE: load a reviewed file"
        " (recorded in the history); history: the changes, newest first",
    )
    knowledge.add_argument("file", nargs="?", help="import: the YAML file (default: KNOWLEDGE_FILE)")
    knowledge.add_argument("--output", help="export: write to this file instead of standard output")
    knowledge.add_argument("--note", default="", help="import: why (kept in the history)")
    knowledge.add_argument("--path", help="history: one fact's changes (e.g. programs.msit.facts.deadlines)")
    knowledge.add_argument(
        "--stale", action="store_true", help="facts whose cycle has ended or whose as-of date is too old"
    )
    knowledge.add_argument(
        "--max-age-days", type=int, help="as-of age that counts as stale (default: STALE_AFTER_DAYS)"
    )
    knowledge.add_argument("--today", type=_date, help="check as of this day (default: today, office time)")
    knowledge.add_argument("--json", action="store_true", help="one JSON object per line")

    erase_cmd = commands.add_parser("erase", help="erase on request: one conversation, or everything with an e-mail")
    target = erase_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--conversation", help="conversation id or reference")
    target.add_argument("--email", help="every conversation and follow-up request with this address")
    erase_cmd.add_argument("--yes", action="store_true", help="erase; without it, only show what would go")

    training = commands.add_parser("training", help="the training examples staff added on the console")
    training.add_argument("action", choices=["export", "list"], help="export: Rasa NLU YAML for data/nlu/")

    password = commands.add_parser("set-password", help="create a local staff user or change its password")
    password.add_argument("user")
    password.add_argument("--generate", action="store_true", help="generate a random password and print it")
    password.add_argument(
        "--role", choices=["editor", "viewer"], help="editor changes knowledge and training; viewer only reads"
    )
    return parser


def _console(database_url: Optional[str]) -> Console:
    settings = load_settings()
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url)
    return Console(settings)


def cmd_list(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    flt = ConversationFilter(
        since=args.since,
        until=args.until,
        program=args.program or "",
        topic=args.topic or "",
        missed=args.missed,
        status=args.status or "",
        search=args.search or "",
    )
    page = console.conversation_queries.conversations(flt, limit=max(1, args.limit))
    if args.json:
        for row in page.rows:
            out.write(json.dumps(summary_record(row), ensure_ascii=False) + "\n")
        return 0
    total = console.conversation_queries.count_conversations(flt)
    rows = [
        [
            display_id(row["sender_id"]),
            format_time(row["started_at"], console.tz),
            format_time(row["last_activity"], console.tz),
            str(row["visitor_messages"]),
            ",".join(row["programs_list"]) or "-",
            ",".join(console.vocabulary.topic_label(t) for t in row["topics_list"][:3]) or "-",
            str(row["missed_messages"]),
            row.get("review_status") or "new",
        ]
        for row in page.rows
    ]
    _table(out, ["ID", "STARTED", "LAST ACTIVITY", "MSGS", "PROGRAMS", "TOPICS", "MISSED", "REVIEW"], rows)
    out.write(f"\n{len(rows)} of {total} conversations.\n")
    return 0


def cmd_show(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    sender_id = console.conversation_queries.resolve(args.conversation_id) or args.conversation_id
    rows = console.store.conversation_events(sender_id)
    if not rows:
        print(f"No conversation {args.conversation_id!r}.", file=sys.stderr)
        return 1
    # Built in full first: a bot message learns which of its buttons was clicked from the next message.
    for turn in list(TurnBuilder(console.threshold, mask_value).build(rows)):
        when = format_time(turn.timestamp, console.tz, seconds=True)
        if args.json:
            out.write(
                json.dumps(
                    {
                        "event_id": turn.event_id,
                        "kind": turn.kind,
                        "time": when,
                        "text": turn.text,
                        "intent": turn.intent,
                        "confidence": turn.confidence,
                        "missed": turn.miss_reason,
                        "feedback": turn.feedback,
                        "button": turn.button_title,
                        "action": turn.action,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        elif turn.kind == "visitor":
            said = f'[clicked "{turn.button_title}"]' if turn.button_title else turn.text
            flag = f"  << MISSED: {turn.miss_reason}" if turn.missed else ""
            flag += "  (low confidence, answered)" if turn.answered_unsure else ""
            conf = f"{turn.confidence:.2f}" if turn.confidence is not None else "-"
            entities = "".join(f" {n}={v}" for n, v in turn.entities)
            out.write(f"{when}  VISITOR  {said}\n{'':21}(intent {turn.intent} {conf}{entities}){flag}\n")
        elif turn.kind == "bot":
            buttons = "".join(f"\n{'':21}[{'x' if b.clicked else ' '}] {b.title}" for b in turn.buttons)
            rated = f"  << visitor: {turn.feedback_label}" if turn.feedback else ""
            out.write(f"{when}  BOT      {turn.text}{buttons}\n{'':21}({turn.action or 'response'}){rated}\n")
        elif turn.kind == "session":
            out.write(f"{when}  --- session started ---\n")
        elif turn.kind == "opened":
            out.write(f"{when}  --- visitor opened the chat ---\n")
        elif turn.kind == "slot":
            out.write(f"{when}  slot {turn.action} = {turn.slot_value}\n")
    return 0


def cmd_missed(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    titles = console.vocabulary.topic_titles()
    topic = intent_for(args.topic) if args.topic and not args.topic.startswith("ask_") else args.topic or ""
    if topic and topic not in titles:
        known = ", ".join(sorted(topic_for(intent) or intent for intent in titles))
        out.write(f"No topic {args.topic!r} in the knowledge file. Topics: {known}.\n")
        return 2
    flt = MissedFilter(status=args.status, since=args.since, until=args.until, topic=topic)
    groups, group_count, message_count = console.missed_queries.missed_groups(flt, 1, max(1, args.limit))
    rows = [
        [
            str(g.count),
            str(g.conversations),
            format_time(g.last_seen, console.tz),
            g.status,
            g.assigned_intent or "-",
            titles.get(g.likely_intent or "", "-"),
            g.text[:70],
            display_id(g.samples[0]["sender_id"]) if g.samples else "-",
        ]
        for g in groups
    ]
    _table(
        out,
        ["COUNT", "CONVS", "LAST SEEN", "STATUS", "INTENT", "LIKELY TOPIC", "QUESTION", "LATEST CONVERSATION"],
        rows,
    )
    about = f", likely about {titles[topic]}" if topic else ""
    out.write(f"\n{message_count} missed messages in {group_count} groups ({args.status}{about}).\n")
    return 0


def cmd_stats(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    totals = console.trend_queries.totals()
    until = today(console.tz)
    programs = console.vocabulary.programs()
    data = console.trend_queries.trends(until - timedelta(days=max(1, args.days) - 1), until, list(programs))
    messages, missed = sum(data.messages), sum(data.missed)
    out.write(
        f"All time: {totals['conversations']} conversations, {totals['visitor_messages']} visitor messages, "
        f"{totals['missed_messages']} missed.\n"
    )
    out.write(
        f"Last {args.days} days: {sum(data.conversations)} conversations, {messages} visitor messages, "
        f"{missed} missed ({(missed / messages * 100) if messages else 0:.1f}%).\n"
    )
    interest = ", ".join(f"{console.vocabulary.program_label(p)} {sum(days)}" for p, days in data.programs.items())
    out.write(f"Program interest: {interest or 'none'} conversations.\n")
    out.write("Top topics:\n")
    for intent, count in data.topics:
        out.write(f"  {count:>7}  {console.vocabulary.topic_label(intent)}\n")
    _write_answer_mix(console, data.answers, out)
    return 0


def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _write_answer_mix(console: Console, mix: AnswerMix, out: TextIO) -> None:
    """Answer types, containment (no live hand-off and no follow-up request) and feedback."""
    total = mix.total
    out.write("Answer types:\n")
    for kind, count in total.types.items():
        out.write(
            f"  {count:>7}  {ANSWER_TYPE_LABELS[kind]} ({_percent(count / total.replies if total.replies else None)})\n"
        )
    out.write(
        f"Containment: {_percent(total.containment)} ({total.contained} of {total.conversations} conversations "
        "without a person or a follow-up request).\n"
    )
    out.write(
        f"Feedback: {total.helpful} helpful, {total.not_helpful} not helpful"
        f" ({_percent(total.helpful_share)} helpful).\n"
    )
    out.write("By topic (replies, contained, helpful / not helpful):\n")
    for topic, tally in sorted(mix.topics.items(), key=lambda item: (-item[1].replies, item[0])):
        label = console.vocabulary.topic_label(intent_for(topic)) if topic else "(no topic)"
        out.write(
            f"  {tally.replies:>7}  {_percent(tally.containment):>6}"
            f"  {tally.helpful:>4} / {tally.not_helpful:<4}  {label}\n"
        )


def cmd_export(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    until = args.until or today(console.tz)
    start, end = day_range(args.since, until, console.tz)
    assert start is not None and end is not None  # both days are given
    if args.unmask:
        print("Warning: exporting unmasked text (contact details included).", file=sys.stderr)
    chunks = export_chunks(
        console.store, args.kind, args.format, start, end, console.threshold, console.tz, unmask=args.unmask
    )
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        for chunk in chunks:
            out.write(chunk)
    return 0


def cmd_followups(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    flt = FollowupFilter(status=args.status, program=(args.program or "").strip().lower())
    chunks = crm_csv(console.followups.records(flt, console.vocabulary.program_label))
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(chunks)
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        out.writelines(chunks)
    return 0


def cmd_purge(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    days = args.older_than if args.older_than is not None else int(console.settings.retention_days)
    result = purge(console.store, days, dry_run=args.dry_run)
    verb = "Would delete" if args.dry_run else "Deleted"
    out.write(
        f"{verb} {result.conversations} conversation{'s' if result.conversations != 1 else ''} "
        f"({result.events} events) with no activity since {format_time(result.cutoff, console.tz)}, "
        f"and {result.followups} follow-up request{'s' if result.followups != 1 else ''}.\n"
    )
    return 0


def cmd_erase(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    """Show what a request covers; with ``--yes``, erase it and keep the audit record."""
    store = console.store
    if args.email:
        scope, email = "email", args.email.strip()
        senders = erasure.conversations_of_email(store, email)
    else:
        scope, email = "conversation", ""
        sender = console.conversation_queries.resolve(args.conversation) or args.conversation
        senders = erasure.known_conversations(store, [sender])
    planned = erasure.preview(store, scope, senders, email)
    if not planned.conversations and not planned.followups:
        print("Nothing is stored for that request: nothing to erase.", file=out)
        return 1
    summary = (
        f"{planned.conversations} conversation(s), {planned.events} events, {planned.followups} follow-up request(s)"
    )
    if not args.yes:
        print(f"Would erase {summary}. Add --yes to erase them for good.", file=out)
        return 1
    done = erasure.erase(store, scope, senders, f"{getpass.getuser()} (admissions-logs)", email)
    print(
        f"Erased {done.conversations} conversation(s), {done.events} events, {done.followups} follow-up request(s).",
        file=out,
    )
    return 0


def cmd_training(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    """``training export``: the NLU file for review into data/nlu/; ``training list``: with who and when."""
    if args.action == "export":
        out.write(nlu_yaml(console.reviews.assigned_examples()))
        return 0
    tz = console.tz
    for example in console.reviews.examples():
        when = format_time(example["added_at"], tz, True)
        out.write(f"{when}\t{example['added_by']}\t{example['intent']}\t{example['text']}\n")
    return 0


def cmd_sync(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    result = console.summariser.rebuild() if args.rebuild else console.refresh(force=True)
    out.write(f"Read {result.processed} new events; summaries are up to date (last event id {result.watermark}).\n")
    return 0


def cmd_set_password(console: Console, args: argparse.Namespace, out: TextIO) -> int:
    if args.generate:
        password = secrets.token_urlsafe(12)
    else:
        password = getpass.getpass("New password: ")
        if password != getpass.getpass("Repeat it: "):
            print("The passwords differ.", file=sys.stderr)
            return 1
    if len(password) < 10:
        print("Use at least 10 characters.", file=sys.stderr)
        return 1
    console.auth.set_password(args.user, password, args.role)
    role = console.auth.role(args.user)
    out.write(
        f"Password set for {args.user.strip().lower()} ({role})."
        + (f" Password: {password}\n" if args.generate else "\n")
    )
    return 0


def _table(out: TextIO, headers: List[str], rows: List[List[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for row in [headers] + rows:
        out.write(
            "  ".join(str(cell).replace("\n", " ").ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n"
        )


COMMANDS: Dict[str, Callable[[Console, argparse.Namespace, TextIO], int]] = {
    "list": cmd_list,
    "show": cmd_show,
    "missed": cmd_missed,
    "stats": cmd_stats,
    "export": cmd_export,
    "followups": cmd_followups,
    "purge": cmd_purge,
    "sync": cmd_sync,
    "erase": cmd_erase,
    "training": cmd_training,
    "set-password": cmd_set_password,
}


def cmd_knowledge(args: argparse.Namespace, out: TextIO, database_url: Optional[str]) -> int:
    """``knowledge``: the store's facts (what visitors get) and the moves between it and the file."""
    settings = load_settings()
    store = KnowledgeStore(database_url or settings.database_url)
    try:
        if args.action == "import":
            version = store.import_file(
                Path(args.file) if args.file else None, f"{getpass.getuser()} (admissions-logs)", args.note
            )
            print(
                f"Imported as knowledge version {version.id}; every action server answers from it within seconds.",
                file=out,
            )
            return 0
        latest, document = store.current()
        if args.action == "export":
            text = export_yaml(document, store.seed_file)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
                print(f"Knowledge version {latest.id} written to {args.output}.", file=out)
            else:
                out.write(text)
            return 0
        if args.action == "history":
            for change in store.history(args.path, limit=args.limit if hasattr(args, "limit") else 50):
                version = change.version
                print(
                    f"{version.id}\t{format_time(version.created_at, load_config().timezone, True)}\t{version.author}"
                    f"\t{version.action}\t{version.path or '-'}\t{version.note}",
                    file=out,
                )
                for line in change.diff:
                    print(f"    {line}", file=out)
            return 0
        if store.sync_file():  # a newer reviewed file, as every action server would load it
            latest, document = store.current()
        knowledge = parse_knowledge(document, f"knowledge version {latest.id}")
        day = args.today or office_clock(settings).today()
    except (KnowledgeError, ClockError, ChangeRefused, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"error: the knowledge store cannot be reached: {getattr(error, 'orig', None) or error}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    max_age = args.max_age_days if args.max_age_days is not None else settings.stale_after_days
    facts = list(knowledge.facts())
    if not args.stale:
        dated = sum(1 for _, _, fact in facts if fact.dates)
        print(
            f"{len(facts)} facts, {dated} with dates; `admissions-logs knowledge --stale` lists the stale ones.",
            file=out,
        )
        return 0
    stale = stale_facts(knowledge, day, max_age)
    if args.json:
        for item in stale:
            record = dataclasses.asdict(item)
            record["as_of"] = item.as_of.isoformat() if item.as_of else None
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    print(
        f"{len(stale)} of {len(facts)} facts to check again as of {day.isoformat()} "
        f"(cycle ended, or checked more than {max_age} days ago):",
        file=out,
    )
    for item in stale:
        print(f"- {item.where} ({item.topic}): {'; '.join(item.reasons)}", file=out)
        print(f"  cycle: {item.cycle or '-'}; as of {item.as_of.isoformat() if item.as_of else '-'}", file=out)
        print(f"  source: {item.source}", file=out)
    return 0


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --database-url is read before the rest so the console (and its program list) can be built first.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--database-url")
    known, rest = pre.parse_known_args(argv)
    out = out or sys.stdout
    if rest[:1] == ["knowledge"]:  # the knowledge store only: no conversation summaries needed
        return cmd_knowledge(build_parser().parse_args(argv), out, known.database_url)
    console = _console(known.database_url)
    try:
        args = build_parser(list(console.vocabulary.programs())).parse_args(argv)
        console.prepare()
        if args.command not in ("sync", "set-password"):
            console.refresh(force=True)
        return COMMANDS[args.command](console, args, out)
    except BrokenPipeError:  # e.g. `admissions-logs export ... | head`
        return 0
    finally:
        console.close()


if __name__ == "__main__":
    sys.exit(main())
