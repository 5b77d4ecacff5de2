"""The NLU components: alias entities from the knowledge file, and the input guard."""

from __future__ import annotations

import os

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.input_guard import (
    PLACEHOLDER,
    InputGuard,
    WordlessMessageFilter,
    clean_text,
    has_words,
    looks_like_code,
)
from bot.nlu.program_entities import AliasMatcher, ProgramEntityExtractor
from core.knowledge import DEFAULT_KNOWLEDGE_FILE
from core.topics import READ_CHARS


def found(matcher: AliasMatcher, text: str):
    return [(e["entity"], e["value"], text[e["start"] : e["end"]]) for e in matcher.find(text)]


@pytest.fixture(scope="module")
def matcher(knowledge) -> AliasMatcher:
    return AliasMatcher(knowledge)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("How long is the MISM program?", [("program", "mism", "MISM")]),
        ("how long is mism", [("program", "mism", "mism")]),
        ("what about the online one", [("program", "msit", "online one")]),
        ("is it part-time?", [("program", "msit", "part-time")]),
        ("I'd rather study on campus", [("program", "mism", "on campus")]),
        ("Is the program in Pittsburgh?", [("program", "mism", "Pittsburgh")]),
        (
            "Master of Science in Information Technology deadlines",
            [("program", "msit", "Master of Science in Information Technology")],
        ),
        ("information systems management tracks", [("program", "mism", "information systems management")]),
        ("the 12 month one", [("track", "12_month", "12 month")]),
        ("16-month track", [("track", "16_month", "16-month")]),
        ("BIDA", [("track", "bida", "BIDA")]),
        (
            "MSIT information security track",
            [("program", "msit", "MSIT"), ("track", "information_security", "information security")],
        ),
        ("what are the deadlines?", []),
        # A degree the assistant does not cover: its name as the visitor wrote it.
        ("does the MBA need the GMAT", [("other_program", "MBA", "MBA")]),
        ("mism or msppm?", [("program", "mism", "mism"), ("other_program", "msppm", "msppm")]),
        ("Is a Ph.D. required?", [("other_program", "Ph.D.", "Ph.D.")]),
        ("thank you mam", []),
    ],
)
def test_aliases_from_the_knowledge_file(matcher, text, expected):
    assert found(matcher, text) == expected


@pytest.mark.parametrize(
    "text, role",
    [
        ("Can I have a part-time job while studying?", "description"),
        ("do I have to move to Pittsburgh?", "description"),
        ("and online?", "description"),
        ("how long is the online program", None),
        ("is the part-time option STEM?", None),
        ("tell me about the on-campus one", None),
        ("How long does an online master’s take?", None),
    ],
)
def test_a_word_that_describes_a_program_is_told_from_one_that_names_it(matcher, text, role):
    """ "part-time" in "a part-time job" describes MSIT; "the part-time option" names it."""
    [entity] = matcher.find(text)
    assert entity["entity"] == "program" and entity.get("role") == role


@pytest.mark.parametrize(
    "text, name",
    [("MISM的学费是多少？", "MISM"), ("msit需要GRE吗", "msit"), ("MISM는 얼마인가요?", "MISM"), ("学费MSIT", "MSIT")],
)
def test_a_name_written_against_chinese_or_korean_is_found(matcher, text, name):
    """A tryout's "MISM的学费是多少？" was answered for both programs: the name touching the next word
    was not found."""
    assert [(entity, said) for entity, _, said in found(matcher, text)] == [("program", name)]


def test_longest_alias_wins_within_a_type(matcher):
    # "information technology management" is a track; "information technology" inside it is the program.
    assert found(matcher, "information technology management") == [
        ("program", "msit", "information technology"),
        ("track", "it_management", "information technology management"),
    ]


def test_new_alias_in_the_file_is_recognised_without_retraining(tmp_path):
    data = yaml.safe_load(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
    path = tmp_path / "programs.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    extractor = ProgramEntityExtractor.create({"knowledge_file": str(path)}, None, None, None)
    message = Message({TEXT: "how long is the heinz it masters"})
    assert extractor.process([message])[0].get(ENTITIES) == []

    data["programs"]["msit"]["aliases"].append("heinz it masters")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))
    message = Message({TEXT: "how long is the heinz it masters"})
    entities = extractor.process([message])[0].get(ENTITIES)
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("program", "msit", "ProgramEntityExtractor")
    ]


# -- input guard ------------------------------------------------------------------------------


def test_clean_text_strips_markup_and_bounds_length():
    assert clean_text("<b>How long</b> is <i>MISM</i>?", 1000) == "How long is MISM ?"
    assert clean_text("<img src=x onerror=alert(1)>", 1000) == ""
    assert len(clean_text("deadline " * 5000, 1000)) == 1000
    assert clean_text("tuition &amp; fees", 1000) == "tuition & fees"


@pytest.mark.parametrize(
    "text, words",
    [("", False), ("😀😀", False), ("?!...", False), ("MISM", True), ("費用は？", True), ("<script></script>", True)],
)
def test_has_words(text, words):
    assert has_words(text) is words


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE events; --",
        "1' OR '1'='1",
        "SELECT * FROM deadlines",
        "x UNION SELECT password FROM users",
        "drop table students",
        "/* admin */ deadlines",
    ],
)
def test_code_is_not_a_question(text):
    assert looks_like_code(text)


@pytest.mark.parametrize(
    "text",
    [
        "when is the deadline? december 1?",
        "Can I drop a class after the add/drop deadline?",
        "select a track: BIDA or traditional?",
        "I'm updating my resume; what should it include",
        "is the GRE optional -- or required?",
    ],
)
def test_questions_that_mention_sql_words_are_still_questions(text):
    assert not looks_like_code(text)


def test_guard_and_filter_turn_wordless_messages_into_a_fallback():
    guard = InputGuard.create({"max_chars": 50}, None, None, None)
    messages = guard.process([Message({TEXT: "😀😀"}), Message({TEXT: "x" * 20000}), Message({TEXT: "<p>hi</p>"})])
    assert [m.get(TEXT) for m in messages] == [PLACEHOLDER, "x" * 50, "hi"]
    assert [m.get(READ_CHARS) for m in messages] == [None, 50, None], "a cut message says how much was read"
    for message in messages:
        message.set(INTENT, {"name": "greet", "confidence": 0.97})
    WordlessMessageFilter.create({}, None, None, None).process(messages)
    assert messages[0].get(INTENT)["confidence"] == 0.0
    assert messages[2].get(INTENT)["confidence"] == 0.97
