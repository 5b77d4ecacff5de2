"""What the input channels accept (bot/channels/limits.py), and how the Rasa server is started.

The HTTP behaviour of the same rules (status codes, nothing stored) is tested against the real
stack in test_edge_stack.py.
"""

from __future__ import annotations

import pytest

from bot.__main__ import rasa_arguments
from bot.channels.limits import MAX_SENDER_CHARS, message_problem, metadata_problem, sender_problem


@pytest.mark.parametrize(
    "sender",
    ["3f2a1c9e-0b5e-4c1e-9f8a-2d6b7c1e0a44", "abc", "x" * MAX_SENDER_CHARS, "visitor@example.edu", "s:1.2_3+4"],
)
def test_ordinary_senders_are_accepted(sender):
    assert sender_problem(sender) is None


@pytest.mark.parametrize(
    "sender",
    [None, "", 42, ["a"], "x" * (MAX_SENDER_CHARS + 1), "a b", "a\u0000b", "../etc", "-leading", "é", "a\nb"],
)
def test_missing_or_malformed_senders_are_refused(sender):
    assert sender_problem(sender)


def test_message_length_is_bounded():
    assert message_problem("", 10) is None and message_problem("x" * 10, 10) is None
    assert "longer than 10" in (message_problem("x" * 11, 10) or "")
    assert message_problem(None, 10) and message_problem(5, 10) and message_problem({"a": 1}, 10)


def test_metadata_must_be_a_small_object():
    assert metadata_problem(None, 100) is None
    assert metadata_problem({"program": "msit", "page_url": "https://www.heinz.cmu.edu/"}, 100) is None
    assert metadata_problem("text", 100) and metadata_problem([1], 100)
    assert metadata_problem({"x": "y" * 200}, 100)


def test_rasa_gets_the_token_inside_the_process_only():
    assert rasa_arguments(["--port", "5005"], "s3cret") == ["run", "--port", "5005", "--auth-token=s3cret"]
    assert rasa_arguments([], "") == ["run"]
    with pytest.raises(SystemExit):
        rasa_arguments(["--auth-token=visible"], "s3cret")
    with pytest.raises(SystemExit):
        rasa_arguments(["--auth-token", "visible"], "s3cret")
