"""An answer as a visitor would see it, made by the assistant's own answer module.

``actions.answers`` decides the answer and ``domain.yml`` words it, exactly as on the action
server; Rasa's own interpolator fills the response, and the page renders the text with the
widget's renderer (``widget/src/preview.js``), so staff see what a visitor would.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from rasa.core.nlg.interpolator import interpolate_text

from actions.answers import Answerer, Context, phrases_from_domain, resolve_context
from core.knowledge import Knowledge
from core.settings import PROJECT_ROOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"


@dataclass(frozen=True)
class PreviewMessage:
    text: str
    buttons: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    page: str  # "Home page", "MSIT page"
    question: str  # what the visitor asked there
    messages: List[PreviewMessage]


@lru_cache(maxsize=2)
def _responses(domain_file: Path, modified: float) -> Dict[str, Any]:
    return (yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}).get("responses", {})


def responses() -> Dict[str, Any]:
    """The domain's responses, read again when ``domain.yml`` changes."""
    return _responses(DOMAIN_FILE, DOMAIN_FILE.stat().st_mtime)


def answer(knowledge: Knowledge, today: datetime.date, topic_id: str, context: Context) -> List[PreviewMessage]:
    texts = responses()
    reply = Answerer(knowledge, phrases_from_domain({"responses": texts}), today).answer(topic_id, context)
    template = (texts.get(reply.response) or [{}])[0].get("text", "")
    text = interpolate_text(template, {k: "" if v is None else str(v) for k, v in reply.variables.items()})
    return [PreviewMessage(text.strip(), [button["title"] for button in reply.buttons])]


def previews(
    knowledge: Knowledge, today: datetime.date, topic_id: str, program_id: Optional[str], track_id: Optional[str]
) -> List[Preview]:
    """The topic asked on the home page and on each program's page (a track's fact: on its program's
    page, about that track), as the first question of a conversation."""
    title = knowledge.topics[topic_id].title
    if track_id and program_id:
        program = knowledge.programs[program_id]
        context = Context([program_id], track_id, named=True)
        question = f"{title}, {program.tracks[track_id].name}"
        return [Preview(f"{program.short_name} page", question, answer(knowledge, today, topic_id, context))]
    pages = [("Home page", None)] + [(f"{p.short_name} page", pid) for pid, p in knowledge.programs.items()]
    found = []
    for page, page_program in pages:
        context = resolve_context(knowledge, [], None, None, page_program)
        found.append(Preview(page, title, answer(knowledge, today, topic_id, context)))
    return found
