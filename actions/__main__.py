"""``python -m actions``: check the knowledge file, then start the rasa_sdk action server.

Checking first means a broken knowledge file stops the server with one readable line (file, field,
problem) instead of a traceback, and never serves a visitor a half-loaded fact.
"""

from __future__ import annotations

import sys

from core.knowledge import KnowledgeError, knowledge_file_from_env, load_knowledge


def main() -> None:
    try:
        load_knowledge(knowledge_file_from_env())
    except KnowledgeError as error:
        print(f"Action server not started: {error}", file=sys.stderr)
        sys.exit(2)
    from rasa_sdk.__main__ import main as rasa_sdk_main

    from actions.context import current_knowledge

    current_knowledge()  # seeds an empty knowledge store and starts looking for staff's changes

    sys.argv = [sys.argv[0], "--actions", "actions", *sys.argv[1:]]
    rasa_sdk_main()


if __name__ == "__main__":
    main()
