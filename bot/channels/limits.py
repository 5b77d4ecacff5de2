"""What a chat request may contain, decided in one place for every input channel.

Rasa stores whatever a channel hands it, so these checks run in the channel, before the message
reaches Rasa's processor and tracker store. Each check returns ``None`` when the value is fine, or a
short reason the visitor's client can show (no stack traces, nothing echoed back).
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

# Conversation ids: the widget sends UUIDs, socket.io uses its own session ids. Letters, digits and
# a few separators are enough for both (and for an e-mail-like id); no spaces, slashes or control
# characters, and short enough for every tracker store column (PostgreSQL's sender_id is 255).
MAX_SENDER_CHARS = 128
SENDER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]*")


def sender_problem(sender: Any) -> Optional[str]:
    """Why ``sender`` cannot name a conversation, or ``None``. A missing sender is refused, never shared."""
    if sender is None or sender == "":
        return "'sender' is required: a conversation id of your own (e.g. a UUID)"
    if not isinstance(sender, str):
        return "'sender' must be a string"
    if len(sender) > MAX_SENDER_CHARS:
        return f"'sender' is longer than {MAX_SENDER_CHARS} characters"
    if not SENDER_PATTERN.fullmatch(sender):
        return "'sender' may contain only letters, digits and . _ : @ + -, starting with a letter or digit"
    return None


def message_problem(message: Any, max_chars: int) -> Optional[str]:
    """Why ``message`` cannot be a chat message, or ``None``. Empty text is fine: the bot answers it."""
    if message is None:
        return "'message' is required"
    if not isinstance(message, str):
        return "'message' must be a string"
    if len(message) > max_chars:
        return f"'message' is longer than {max_chars} characters"
    return None


def metadata_problem(metadata: Any, max_chars: int) -> Optional[str]:
    """Why ``metadata`` cannot go with a message, or ``None``: an object, no bigger than a message."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return "'metadata' must be an object"
    if len(json.dumps(metadata, ensure_ascii=False)) > max_chars:
        return f"'metadata' is longer than {max_chars} characters"
    return None
