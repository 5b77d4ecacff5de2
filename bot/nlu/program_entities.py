"""NLU component: find ``program`` and ``track`` entities from the names in the knowledge file, and
``other_program`` for a degree the assistant does not cover (``core.topics.OTHER_PROGRAMS``).

A spaCy ``PhraseMatcher`` (on a blank English pipeline: no model download) is built from every
program and track name and alias in ``knowledge/programs.yml``. Adding an alias to that file is
enough for the bot to recognise it: no new training examples, no retraining. The matcher is rebuilt
when the file changes, so even a running server picks up a new alias.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from bot.nlu.base import ConfigOnlyComponent
from core.knowledge import DESCRIPTION_ROLE, Knowledge, KnowledgeSource
from core.topics import OTHER_PROGRAM_ENTITY, OTHER_PROGRAMS

ENTITY_TYPES = ("program", "track", OTHER_PROGRAM_ENTITY)
# Chinese, Japanese and Korean write no space between a name and the next word ("MISM的学费"): a
# Latin letter or digit next to one of these scripts is a token boundary.
CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
SCRIPT_CHANGE = re.compile(rf"(?<=[A-Za-z0-9])(?=[{CJK}])|(?<=[{CJK}])(?=[A-Za-z0-9])")


class AliasMatcher:
    """Matches knowledge-file aliases in text. Kept free of Rasa so it is easy to test and reuse."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.nlp = spacy.blank("en")
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        patterns: Dict[str, List[Any]] = {}
        for entity, value, phrase in knowledge.aliases():
            patterns.setdefault(f"{entity}={value}", []).extend(self.docs(phrase))
        for value, phrase in knowledge.descriptions():
            patterns.setdefault(f"program={value}={DESCRIPTION_ROLE}", []).extend(self.docs(phrase))
        for phrase in OTHER_PROGRAMS:  # the value is the name as the visitor wrote it (see ``find``)
            patterns.setdefault(f"{OTHER_PROGRAM_ENTITY}=", []).extend(self.docs(phrase))
        for label, docs in patterns.items():
            self.matcher.add(label, docs)

    def docs(self, phrase: str) -> List[Any]:
        """The phrase as spaCy may split it in a text: alone, inside a sentence, and word by word
        ("ph.d." alone is two tokens, but "Ph.D." in a sentence is one)."""
        variants = [
            self.nlp.make_doc(phrase),
            self.nlp.make_doc(f"{phrase} x")[:-1].as_doc(),
            Doc(self.nlp.vocab, words=phrase.split()),
        ]
        unique = {tuple(token.text for token in doc): doc for doc in variants}
        return list(unique.values())

    def split_scripts(self, doc: Doc) -> Doc:
        """``doc`` with tokens split where Latin meets CJK script ("MISM的学费" is "MISM", "的学费"); the
        text, and so every offset, stays the same."""
        words: List[str] = []
        spaces: List[bool] = []
        for token in doc:
            pieces = [piece for piece in SCRIPT_CHANGE.split(token.text) if piece]
            words.extend(pieces)
            spaces.extend([False] * (len(pieces) - 1) + [bool(token.whitespace_)])
        return doc if len(words) == len(doc) else Doc(self.nlp.vocab, words=words, spaces=spaces)

    def find(self, text: str) -> List[Dict[str, Any]]:
        """Entities in ``text`` as Rasa entity dicts, longest match per entity type, in order; a
        program's description ("online") has the role ``description`` (a name, "online program", wins)."""
        # A typographic apostrophe ("online master’s") matches the names' plain one; same length, so
        # the offsets still point into ``text``.
        doc = self.split_scripts(self.nlp.make_doc(text.replace("\u2019", "'")))
        by_type: Dict[str, list] = {entity: [] for entity in ENTITY_TYPES}
        for match_id, start, end in self.matcher(doc):
            label = self.nlp.vocab.strings[match_id]
            entity, value = label.split("=", 1)
            span = doc[start:end]
            span.label_ = label
            by_type[entity].append(span)
        entities = []
        for entity, spans in by_type.items():
            for span in filter_spans(spans):
                _, value, *role = span.label_.split("=")
                value = value or text[span.start_char : span.end_char]
                found: Dict[str, Any] = {
                    "entity": entity,
                    "value": value,
                    "start": span.start_char,
                    "end": span.end_char,
                    "confidence_entity": 1.0,
                }
                if role:
                    found["role"] = role[0]
                entities.append(found)
        return sorted(entities, key=lambda item: item["start"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class ProgramEntityExtractor(ConfigOnlyComponent, EntityExtractorMixin):
    """Adds ``program``/``track`` entities using the aliases in the knowledge file, and ``other_program``.

    Config: ``knowledge_file`` (optional) — path of the knowledge file; defaults to the
    ``KNOWLEDGE_FILE`` environment variable, then ``knowledge/programs.yml``.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"knowledge_file": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._source = KnowledgeSource(config.get("knowledge_file"))
        self._knowledge: Optional[Knowledge] = None
        self._matcher: Optional[AliasMatcher] = None

    def _current_matcher(self) -> AliasMatcher:
        knowledge = self._source.get()
        if knowledge is not self._knowledge:
            self._matcher = AliasMatcher(knowledge)
            self._knowledge = knowledge
        return self._matcher  # type: ignore[return-value]

    def process(self, messages: List[Message]) -> List[Message]:
        matcher = self._current_matcher()
        for message in messages:
            found = self.add_extractor_name(matcher.find(message.get(TEXT) or ""))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
