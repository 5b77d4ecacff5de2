"""The names the console shows and filters on, taken from where they are declared.

Programs and topics come from the knowledge file (``core.knowledge``: ``programs`` and ``topics``);
which intents ask about a topic, which mean a miss and which are conversation mechanics come from
:mod:`core.topics`. Nothing here lists a program or an intent itself, so a program or topic added to
the knowledge file appears in the console's filters, charts and CLI without a change here.

The knowledge file is re-read when it changes (``KnowledgeSource``). If it cannot be read the
console keeps working: programs and topics then fall back to what the stored conversations name.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

from core.knowledge import Knowledge, KnowledgeError, KnowledgeSource
from core.topics import (
    CONVERSATION_INTENTS,
    MISS_INTENTS,
    OUT_OF_SCOPE_INTENT,
    intent_for,
    topic_for,
    topic_labels,
)

logger = logging.getLogger(__name__)

NONE_OF_THESE = "None of these / out of scope"

KnowledgeLoader = Callable[[], Optional[Knowledge]]


def default_loader() -> KnowledgeLoader:
    """The knowledge file named by ``KNOWLEDGE_FILE`` (else the project's), re-read on change."""
    source: List[KnowledgeSource] = []

    def load() -> Optional[Knowledge]:
        try:
            if not source:
                source.append(KnowledgeSource())
            return source[0].get()
        except (KnowledgeError, OSError) as error:
            logger.error("Staff console: knowledge file unavailable, program and topic names fall back: %s", error)
            return None

    return load


def is_topic(intent: Optional[str]) -> bool:
    """Whether an intent asks about a topic (``ask_<topic>``), rather than small talk or a miss."""
    return topic_for(intent) is not None


class Vocabulary:
    """Programs, topics and intents for menus, labels and the summaries."""

    def __init__(self, loader: Optional[KnowledgeLoader] = None) -> None:
        self._load = loader or default_loader()

    def knowledge(self) -> Optional[Knowledge]:
        return self._load()

    # -- programs -------------------------------------------------------------------------------
    def programs(self) -> Dict[str, str]:
        """Program id -> short name (``{"mism": "MISM", ...}``), in the knowledge file's order."""
        knowledge = self.knowledge()
        if knowledge is None:
            return {}
        return {program_id: program.short_name for program_id, program in knowledge.programs.items()}

    def program_label(self, program_id: str) -> str:
        return self.programs().get(program_id) or program_id.upper()

    def normalise_program(self, value: Any) -> Optional[str]:
        """Map an entity or slot value (``MSIT``, ``msit-pm``, an alias) onto a program id."""
        if not isinstance(value, str) or not value.strip():
            return None
        lowered = value.strip().lower()
        knowledge = self.knowledge()
        if knowledge is not None:
            for program_id, program in knowledge.programs.items():
                names = {program_id, program.short_name.lower(), program.name.lower()}
                names.update(alias.lower() for alias in program.aliases)
                if lowered in names:
                    return program_id
            for program_id in knowledge.programs:
                if program_id in lowered:
                    return program_id
        return lowered[:40]

    # -- topics and intents -----------------------------------------------------------------------
    def topic_label(self, intent: Optional[str]) -> str:
        """``ask_stem_opt`` -> the topic's label from the knowledge file (else ``stem opt``)."""
        if not intent:
            return "(none)"
        topic = topic_for(intent)
        knowledge = self.knowledge()
        if topic and knowledge is not None:
            label = topic_labels(knowledge).get(topic)
            if label:
                return label
        return (topic or intent).replace("_", " ")

    def intents(self) -> List[str]:
        """Every intent staff can filter on: topic intents, then conversation ones, then misses."""
        knowledge = self.knowledge()
        topics = [intent_for(topic) for topic in knowledge.topics] if knowledge is not None else []
        return topics + list(CONVERSATION_INTENTS) + list(MISS_INTENTS)

    def topic_titles(self) -> Dict[str, str]:
        """Every topic of the knowledge file by its title, as staff pick one on the Missed page. Keys are
        the intents that ask about them (what the training data uses); staff never see them."""
        knowledge = self.knowledge()
        return {intent_for(tid): topic.title for tid, topic in knowledge.topics.items()} if knowledge else {}

    def topic_choices(self) -> Dict[str, str]:
        """What a missed question may be assigned to, by label: every topic of the knowledge file, or
        none of them (out of scope)."""
        return {**self.topic_titles(), OUT_OF_SCOPE_INTENT: NONE_OF_THESE}

    def assignable_intents(self) -> List[str]:
        """Intents a missed question may be labelled with (``nlu_fallback`` is not a training label)."""
        return [intent for intent in self.intents() if intent != "nlu_fallback"]
