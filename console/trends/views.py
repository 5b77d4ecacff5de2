"""The trends page (charts with their tables, the facts to check again) and the stats JSON API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable, List, Optional, Tuple

from flask import (
    Blueprint,
    jsonify,
    render_template,
    request,
)

from console.common import console, query_int
from console.data.dates import parse_date, today
from console.trends.charts import bar_chart, hbar_chart, line_chart
from core.clock import office_clock
from core.settings import load_settings
from core.timeline import stale_facts
from core.topics import ANSWER_TYPE_LABELS, intent_for

TREND_RANGES = (7, 30, 90, 365)


def _trend_range() -> Tuple[date, date]:
    tz = console().tz
    until = parse_date(request.args.get("until")) or today(tz)
    since = parse_date(request.args.get("since"))
    days = query_int(request.args.get("days"), 30)
    if since is None or since > until:
        since = until - timedelta(days=max(1, min(days, 731)) - 1)
    since = max(since, until - timedelta(days=730))
    return since, until


def trends() -> Any:
    since, until = _trend_range()
    vocabulary = console().vocabulary
    data = console().trend_queries.trends(since, until, list(vocabulary.programs()))
    program_ids = list(data.programs)
    labels = [day.strftime("%b %d") for day in data.days]
    span = f"{since:%b %d, %Y} to {until:%b %d, %Y}"
    charts = {
        "conversations": bar_chart(
            "chart-conversations",
            "Conversations per day",
            f"Conversations started each day, {span}.",
            labels,
            data.conversations,
        ),
        "messages": bar_chart(
            "chart-messages",
            "Visitor messages per day",
            f"Messages typed or clicked by visitors each day, {span}.",
            labels,
            data.messages,
        ),
        "missed": line_chart(
            "chart-missed",
            "Share of messages missed",
            f"Per day, the share of visitor messages the assistant "
            f"could not answer (fallback, out of scope or low confidence), {span}.",
            labels,
            {"Missed": data.missed_share},
            percent=True,
        ),
        "topics": hbar_chart(
            "chart-topics",
            "Top topics",
            f"The ten most asked topics, {span}.",
            [(vocabulary.topic_label(intent), count) for intent, count in data.topics],
        ),
        "programs": line_chart(
            "chart-programs",
            "Program interest",
            f"Conversations per day that mentioned each program, {span}.",
            labels,
            {vocabulary.program_label(p): data.programs[p] for p in program_ids},
        ),
    }
    mix = data.answers
    type_names = list(ANSWER_TYPE_LABELS.values())
    charts["answer_types"] = hbar_chart(
        "chart-answer-types",
        "Answer types",
        f"How the assistant replied to visitors, by kind of reply, {span}.",
        [(ANSWER_TYPE_LABELS[kind], count) for kind, count in mix.total.types.items()],
    )
    charts["containment"] = line_chart(
        "chart-containment",
        "Containment",
        f"Per day, the share of conversations that ended without a person (no live hand-off, no follow-up "
        f"request), {span}.",
        labels,
        {"Contained": [tally.containment for tally in mix.days]},
        percent=True,
    )
    charts["feedback"] = line_chart(
        "chart-feedback",
        "Visitor feedback",
        f"Answers marked helpful and not helpful by visitors each day, {span}.",
        labels,
        {"Helpful": [tally.helpful for tally in mix.days], "Not helpful": [tally.not_helpful for tally in mix.days]},
    )
    share = [("–" if value is None else f"{value * 100:.1f}%") for value in data.missed_share]
    days = [day.isoformat() for day in data.days]
    topic_rows = sorted(mix.topics.items(), key=lambda item: (-item[1].replies, item[0]))
    tables = {
        "answer_types": [(day, *tally.types.values()) for day, tally in zip(days, mix.days)],
        "containment": [(day, t.conversations, t.contained, _pct(t.containment)) for day, t in zip(days, mix.days)],
        "feedback": [(day, t.helpful, t.not_helpful, _pct(t.helpful_share)) for day, t in zip(days, mix.days)],
        "answer_topics": [
            (
                vocabulary.topic_label(intent_for(topic)) if topic else "(no topic)",
                *tally.types.values(),
                _pct(tally.containment),
                tally.helpful,
                tally.not_helpful,
            )
            for topic, tally in topic_rows
        ],
        "daily": list(zip(days, data.conversations, data.messages)),
        "missed": list(zip(days, data.messages, data.missed, share)),
        "topics": [(vocabulary.topic_label(intent), count) for intent, count in data.topics],
        "programs": [(day, *(data.programs[p][index] for p in program_ids)) for index, day in enumerate(days)],
    }
    knowledge = vocabulary.knowledge()
    settings = load_settings()
    stale_day = office_clock(settings).today()
    stale = stale_facts(knowledge, stale_day, settings.stale_after_days) if knowledge else []
    topic_labels = {topic_id: topic.label for topic_id, topic in knowledge.topics.items()} if knowledge else {}
    return render_template(
        "staff/trends.html",
        stale=stale,
        stale_day=stale_day,
        stale_after_days=settings.stale_after_days,
        topic_labels=topic_labels,
        data=data,
        charts=charts,
        tables=tables,
        since=since,
        until=until,
        ranges=TREND_RANGES,
        days=query_int(request.args.get("days"), 30) if not request.args.get("since") else None,
        program_totals={p: sum(data.programs[p]) for p in program_ids},
        program_names=[vocabulary.program_label(p) for p in program_ids],
        type_names=type_names,
        pct_share=_pct,
    )


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def api_stats() -> Any:
    staff_console = console()
    until = today(staff_console.tz)
    data = staff_console.trend_queries.trends(
        until - timedelta(days=29), until, list(staff_console.vocabulary.programs())
    )
    return jsonify(
        totals=staff_console.trend_queries.totals(),
        last_30_days={
            "days": [day.isoformat() for day in data.days],
            "conversations": data.conversations,
            "visitor_messages": data.messages,
            "missed_messages": data.missed,
            "top_topics": data.topics,
            "programs": data.programs,
        },
    )


ROUTES: List[Tuple[str, Callable[..., Any], List[str]]] = [
    ("/trends", trends, ["GET"]),
    ("/api/stats", api_stats, ["GET"]),
]

bp = Blueprint("trends", __name__)
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
