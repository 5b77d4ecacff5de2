"""The knowledge file: the real one is complete and sourced; broken ones fail with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from core.knowledge import (
    DEFAULT_KNOWLEDGE_FILE,
    KnowledgeError,
    KnowledgeSource,
    load_knowledge,
)
from core.settings import PROJECT_ROOT
from tests.support.facts import ADMISSIONS_EMAIL, ADMISSIONS_PHONE

REAL = yaml.safe_load(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: object, name: str = "programs.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def broken(mutate) -> dict:
    data = yaml.safe_load(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
    mutate(data)
    return data


# -- the real file ------------------------------------------------------------------------------


def test_real_file_has_both_programs_and_their_tracks(knowledge):
    assert set(knowledge.programs) == {"mism", "msit"}
    assert set(knowledge.programs["mism"].tracks) == {"16_month", "12_month", "bida"}
    assert set(knowledge.programs["msit"].tracks) == {"it_management", "bida", "information_security"}


def test_every_fact_names_an_official_source(knowledge):
    facts = [topic.fact for topic in knowledge.topics.values() if topic.fact]
    for program in knowledge.programs.values():
        facts += program.facts.values()
        facts += [f for track in program.tracks.values() for f in track.facts.values()]
    assert len(facts) > 25
    for fact in facts:
        assert str(fact.source).startswith(("http://", "https://")), fact.text


def test_cycle_facts_say_which_cycle_and_when(knowledge):
    deadlines = knowledge.lookup("mism", None, "deadlines")
    assert deadlines.cycle == "August 2027 start"
    assert deadlines.as_of is not None
    assert deadlines.deadlines(), "the rounds are dates, told relative to today"
    assert all(d.date >= deadlines.as_of - __import__("datetime").timedelta(days=365) for d in deadlines.deadlines())


def test_unknown_facts_are_missing_not_invented(knowledge):
    # FACTS.md: MSIT length in months, MSIT STEM designation, tuition and MSIT capstones are unknown.
    assert knowledge.lookup("msit", None, "program_length") is None
    assert knowledge.lookup("msit", None, "stem_opt") is None
    assert knowledge.lookup("msit", None, "capstone") is None
    assert knowledge.lookup("msit", None, "cost") is None
    assert knowledge.lookup("mism", None, "cost") is None
    assert knowledge.topics["cost"].fact is None
    assert "tuition" in knowledge.topics["cost"].missing


def test_known_unknowns_are_topics_with_a_best_page_and_no_fact(knowledge):
    # FACTS.md, "Unknown after search": each is a topic staff can fill in later without code.
    for topic_id in (
        "english_tests",
        "deferral",
        "interviews",
        "class_profile",
        "transfer_credit",
        "ai_essays",
    ):
        topic = knowledge.topics[topic_id]
        assert topic_id in knowledge.known_unknowns() and topic.missing
        for program in knowledge.programs.values():
            assert program.best_page(topic_id, topic.link).startswith("https://")


def test_mism_concentrations_stay_unknown_while_msit_names_its_paths(knowledge):
    # MISM's concentrations page lists none we hold; MSIT's page names paths, not concentrations.
    assert knowledge.lookup("mism", None, "concentrations") is None
    msit = knowledge.lookup("msit", None, "concentrations")
    assert msit is not None
    assert all(track.name in msit.text for track in knowledge.programs["msit"].tracks.values())


def test_heinz_wide_facts_need_no_program(knowledge):
    for topic_id in ("application_fee", "second_application", "recommendations", "housing", "orientation"):
        assert knowledge.topics[topic_id].fact is not None, topic_id


def test_every_linked_page_has_a_name(knowledge):
    """Visitors see page names, never raw addresses: every page an answer can link is named."""
    links = [str(p.url) for p in knowledge.programs.values()] + [str(p.apply_url) for p in knowledge.programs.values()]
    links += [str(url) for p in knowledge.programs.values() for url in p.pages.values()]
    for topic in knowledge.topics.values():
        links += [str(topic.link)] if topic.link else []
        links += [str(topic.fact.link or topic.fact.source)] if topic.fact else []
    for program in knowledge.programs.values():
        links += [str(f.link) for f in program.facts.values() if f.link]
        for track in program.tracks.values():
            links += [str(track.url)] + [str(f.link) for f in track.facts.values() if f.link]
    unnamed = sorted({url for url in links if knowledge.page_name(url) == url})
    assert unnamed == []


def test_compact_lines_say_something(knowledge):
    """A program's line in an answer covering both programs is a sentence, not a heading."""
    for program in knowledge.programs.values():
        for topic_id, fact in program.facts.items():
            if fact.dates:
                continue  # its line is where today falls among its dates (tests/unit/test_dates.py)
            line = fact.summary or fact.text
            assert not line.rstrip().endswith(":"), (topic_id, line)
            assert len(line) <= 260, (topic_id, len(line))


def test_track_fact_overrides_program_fact(knowledge):
    assert "12 months" in knowledge.lookup("mism", "12_month", "program_length").text
    assert knowledge.lookup("mism", "12_month", "deadlines") is knowledge.lookup("mism", None, "deadlines")


def test_stem_opt_statement_is_the_official_wording(knowledge):
    text = knowledge.lookup("mism", None, "stem_opt").text
    assert "eligible for 24-month OPT STEM extension" in text
    rules = " ".join(knowledge.topics["stem_opt"].fact.items)
    assert "E-Verify" in rules and "20 hours" in rules and "150 days" in rules


def test_retired_adelaide_track_is_not_stated():
    assert "adelaide" not in DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8").lower()


# -- broken files: each error names the file, the field path and the problem ---------------------


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["programs"]["mism"].pop("name"), "programs.mism.name: field required"),
        (
            lambda d: d["programs"]["msit"]["facts"]["format"].pop("source"),
            "programs.msit.facts.format.source: field required",
        ),
        (
            lambda d: d["programs"]["mism"]["facts"]["program_length"].update(source="not a url"),
            "programs.mism.facts.program_length.source: invalid or missing URL scheme",
        ),
        (
            lambda d: d["programs"]["mism"]["facts"]["deadlines"].pop("as_of"),
            "programs.mism.facts.deadlines: a fact with a 'cycle' also needs an 'as_of' date",
        ),
        (
            lambda d: d["programs"]["mism"]["facts"].update(tuition={"text": "x", "source": "https://www.cmu.edu/"}),
            "programs.mism.facts: unknown topic 'tuition'; topics are declared under 'topics:'",
        ),
        (
            lambda d: d["topics"]["deadlines"]["follow_up"].append("deadlnes"),
            "topics.deadlines.follow_up: unknown topic 'deadlnes'",
        ),
        (
            lambda d: d["topics"]["english_tests"].pop("missing"),
            "topics.english_tests.missing: field required",
        ),
        (
            lambda d: d["programs"]["mism"]["facts"]["program_length"].update(lenght="typo"),
            "programs.mism.facts.program_length.lenght: extra fields not permitted",
        ),
        (
            lambda d: d["programs"]["mism"]["facts"]["program_length"].update(items="not a list"),
            "programs.mism.facts.program_length.items: value is not a valid list",
        ),
        (
            lambda d: d["programs"]["msit"]["aliases"].append("pittsburgh"),
            "program alias 'pittsburgh' is used for both 'mism' and 'msit'",
        ),
        (lambda d: d.pop("contact"), "contact: field required"),
    ],
)
def test_invalid_file_reports_file_field_and_problem(tmp_path, mutate, expected):
    path = write(tmp_path, broken(mutate))
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_invalid_yaml_reports_the_line(tmp_path):
    path = tmp_path / "programs.yml"
    path.write_text("version: 1\nprograms:\n  mism: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"programs.yml: invalid YAML at line \d+"):
        load_knowledge(path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "programs.yml"
    path.write_bytes(b"version: 1\nname: \xff\xfe\n")
    with pytest.raises(KnowledgeError, match="not valid UTF-8"):
        load_knowledge(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(KnowledgeError, match="knowledge file not found"):
        load_knowledge(tmp_path / "nope.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="must contain a YAML mapping"):
        load_knowledge(empty)


# -- editing while running --------------------------------------------------------------------


def _touch_later(path: Path) -> None:
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


def test_edited_file_is_picked_up_without_restart(tmp_path):
    path = write(tmp_path, REAL)
    source = KnowledgeSource(path)
    assert source.get().contact.phone == ADMISSIONS_PHONE
    write(tmp_path, broken(lambda d: d["contact"].update(phone="412-000-0000")))
    _touch_later(path)
    assert source.get().contact.phone == "412-000-0000"


def test_broken_edit_keeps_the_last_good_version_and_is_logged_once(tmp_path, caplog):
    path = write(tmp_path, REAL)
    source = KnowledgeSource(path)
    path.write_text("version: [", encoding="utf-8")
    _touch_later(path)
    for _ in range(3):  # three visitor messages while the file is broken
        assert source.get().contact.email == ADMISSIONS_EMAIL
    assert "invalid YAML" in source.last_error
    rejected = [r for r in caplog.records if "edit rejected" in r.getMessage()]
    assert len(rejected) == 1 and str(path) in rejected[0].getMessage()


def test_action_server_refuses_to_start_with_a_broken_file(tmp_path):
    path = write(tmp_path, broken(lambda d: d["programs"]["mism"].pop("url")))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "KNOWLEDGE_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"Action server not started: {path}: invalid knowledge file — programs.mism.url: field required"
    )
    assert time.monotonic() - started < 120


def test_no_fact_text_is_cut_off_by_a_yaml_comment():
    """`- Heinz College is the #1 ranked ...` unquoted is the text "Heinz College is the": YAML reads
    " #" as the start of a comment. Every "#word" on a line with content must reach the loaded facts."""
    import json
    import re

    loaded = json.dumps(REAL, ensure_ascii=False, default=str)
    for number, line in enumerate(DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith("#"):
            continue
        for words in re.findall(r"\s(#[^\"'\\]{1,30})", line):
            assert words in loaded, f"line {number}: {words!r} is read as a comment, not as text; quote the value"
