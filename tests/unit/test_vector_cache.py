"""Training examples' sentence vectors are kept between trainings: only new texts are encoded again."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import bot.nlu.encoder
import bot.nlu.second_opinion
from bot.nlu.encoder import shared_encoder
from bot.nlu.second_opinion import Memory, shared_minilm
from bot.nlu.vector_cache import cached_vectors, read, text_key

EXAMPLES = ["how much is tuition?", "when is the MISM deadline?", "do I need the GRE?"]


class Counting:
    """The real encoder, counting the texts it was asked to encode."""

    def __init__(self) -> None:
        self.encoded: List[str] = []

    def __call__(self, texts: List[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return shared_encoder().encode(texts)


def test_a_second_training_encodes_only_the_new_examples(tmp_path: Path) -> None:
    encoder = Counting()
    first = cached_vectors("e5", EXAMPLES, encoder, tmp_path)
    assert encoder.encoded == EXAMPLES
    new = "can I defer my admission?"
    second = cached_vectors("e5", [new, *EXAMPLES], encoder, tmp_path)
    assert encoder.encoded == [*EXAMPLES, new], "the examples encoded before are not encoded again"
    assert np.array_equal(second[1:], first)
    assert np.allclose(second[0], shared_encoder().encode([new])[0], atol=1e-6)


def test_each_encoder_has_its_own_vectors(tmp_path: Path) -> None:
    cached_vectors("e5", EXAMPLES, Counting(), tmp_path)
    other = cached_vectors("minilm", EXAMPLES, shared_minilm().encode_many, tmp_path)
    assert np.allclose(other, shared_minilm().encode_many(EXAMPLES), atol=1e-6)


def test_a_damaged_cache_is_rebuilt_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "e5.npz").write_bytes(b"\x00not a numpy archive\xff")
    encoder = Counting()
    with caplog.at_level(logging.WARNING):
        vectors = cached_vectors("e5", EXAMPLES, encoder, tmp_path)
    assert "unreadable" in caplog.text
    assert encoder.encoded == EXAMPLES
    assert np.allclose(vectors, shared_encoder().encode(EXAMPLES), atol=1e-6)
    again = Counting()
    cached_vectors("e5", EXAMPLES, again, tmp_path)
    assert again.encoded == [], "the rebuilt cache is used by the next training"


def test_vectors_of_another_shape_are_never_returned(tmp_path: Path) -> None:
    np.savez(tmp_path / "e5.npz", keys=np.array([text_key(EXAMPLES[0])]), vectors=np.ones((1, 3), dtype=np.float32))
    encoder = Counting()
    vectors = cached_vectors("e5", [*EXAMPLES, "how long is MSIT?"], encoder, tmp_path)
    assert vectors.shape == (4, 384)
    assert np.allclose(vectors[:3], shared_encoder().encode(EXAMPLES), atol=1e-6)
    assert EXAMPLES[0] in encoder.encoded, "the stored vector of another shape is encoded again"


def test_a_cache_that_cannot_be_written_only_makes_training_slower(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING):
        vectors = cached_vectors("e5", EXAMPLES, Counting(), blocked / "cache")
    assert "cannot be written" in caplog.text
    assert np.allclose(vectors, shared_encoder().encode(EXAMPLES), atol=1e-6)


def test_training_keeps_both_encoders_vectors_in_rasas_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path))
    Memory.of(EXAMPLES, ["ask_cost", "ask_deadlines", "ask_test_scores"])
    shared_encoder().encode_examples(EXAMPLES)
    folder = tmp_path / "sentence-vectors"
    for encoder, pattern in (
        (shared_minilm().encode_many, "all-MiniLM-L6-v2-*.npz"),
        (shared_encoder().encode, "multilingual-e5-small-*.npz"),
    ):
        (stored,) = folder.glob(pattern)
        kept = read(stored)
        assert sorted(kept) == sorted(text_key(text) for text in EXAMPLES)
        assert np.allclose(np.stack([kept[text_key(text)] for text in EXAMPLES]), encoder(EXAMPLES), atol=1e-6)


def test_the_cache_is_readable_by_a_training_run_as_another_user(tmp_path: Path) -> None:
    cached_vectors("e5", EXAMPLES, Counting(), tmp_path)
    assert (tmp_path / "e5.npz").stat().st_mode & 0o044 == 0o044, "group and others can read the vectors"


def test_a_training_on_every_core_gets_the_vectors_a_visitors_message_gets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training encodes on several threads and a running bot on one: the same text must get the same
    vector both ways, and the bot's thread must be back on one thread afterwards."""
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path))
    monkeypatch.setattr(bot.nlu.encoder, "training_threads", lambda: 2)
    monkeypatch.setattr(bot.nlu.second_opinion, "training_threads", lambda: 2)
    texts = EXAMPLES + ["Is a three-year bachelor's degree from India accepted for the MSIT program?" * 3]
    trained = shared_encoder().encode_examples(texts)
    served = np.vstack([shared_encoder().encode([text]) for text in texts])
    assert np.allclose(trained, served, atol=1e-5)
    memory = Memory.of(texts, ["ask_cost", "ask_deadlines", "ask_test_scores", "ask_requirements"])
    assert np.allclose(memory.vectors, np.vstack([shared_minilm().encode([text]) for text in texts]), atol=1e-5)
    openmp = [library for library in threadpool_info() if library["user_api"] == "openmp"]
    assert openmp and all(library["num_threads"] == 1 for library in openmp)
