"""``python -m website``: serve the chat page and the staff console with waitress."""

from __future__ import annotations

import logging
import os

from waitress import serve

from core.settings import load_settings
from website import create_app


def main() -> None:
    os.umask(0o077)  # the SQLite database and anything else this server creates: owner only
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    app = create_app(settings)
    serve(app, host=settings.host, port=settings.web_port, threads=8, ident="heinz-web")


if __name__ == "__main__":
    main()
