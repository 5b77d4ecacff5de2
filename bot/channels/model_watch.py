"""Every Rasa worker runs the model staff activated on the console (``core/model_store.py``).

Each worker looks up the active model's id every ``MODEL_POLL_SECONDS`` with one small query on the
tracker store's own database connection; when it changes, it writes the model to a local file and
loads it in a worker thread with Rasa's own ``Agent.load_model`` (what Rasa's model-server pulling
does), while the event loop keeps answering with the old model until the new one is ready, so no
visitor turn fails during an activation. No active model means the model the server was started
with (a roll-back past the first activation). A database that cannot be reached changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from sqlalchemy.exc import SQLAlchemyError

from core.model_store import ModelStore, ModelStoreError

logger = logging.getLogger(__name__)


def poll_seconds() -> float:
    return float(os.environ.get("MODEL_POLL_SECONDS", "") or 3)


def tracker_engine(agent: Any) -> Optional[Any]:
    """The SQL engine of the agent's tracker store (Rasa may wrap it in a fail-safe store)."""
    store = getattr(agent, "tracker_store", None)
    for _ in range(3):
        if store is None or hasattr(store, "engine"):
            break
        store = getattr(store, "tracker_store", None) or getattr(store, "_tracker_store", None)
    return getattr(store, "engine", None)


class ModelWatch:
    def __init__(self, app: Any) -> None:
        self.app = app
        agent = app.ctx.agent
        self.started_with = Path(agent.processor.model_path) if agent and agent.processor else None
        engine = tracker_engine(agent)
        self.store = ModelStore(engine) if engine is not None else None
        self.loaded: Optional[int] = None
        self.cache = Path(tempfile.mkdtemp(prefix="heinz-models-"))

    async def run(self) -> None:
        if self.store is None or self.started_with is None:
            logger.info("No SQL tracker store: models activated on the console are not watched.")
            return
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.check)
            except (SQLAlchemyError, ModelStoreError, OSError) as error:
                logger.warning("Could not check the active model, keeping the current one: %s", error)
            except Exception:  # noqa: BLE001 - a broken model must not stop the watch or the server
                logger.exception("Loading the activated model failed; keeping the current one.")
            await asyncio.sleep(poll_seconds())

    def check(self) -> None:
        """In a worker thread: load the active model if it changed."""
        assert self.store is not None and self.started_with is not None
        self.store.create_schema()
        active = self.store.active_id()
        if active == self.loaded:
            return
        path = self.started_with if active is None else self.cache / f"model-{active}.tar.gz"
        if active is not None and not path.exists():
            path.write_bytes(self.store.model_bytes(active))
        self.app.ctx.agent.load_model(path)
        logger.info("Now answering with %s (activated on the console).", path.name if active else "the shipped model")
        self.loaded = active


async def start(app: Any) -> None:
    """Sanic ``after_server_start`` listener: one watch per worker, in the background."""
    if getattr(app.ctx, "agent", None) is None or not app.ctx.agent.is_ready():
        return
    app.ctx.model_watch = asyncio.ensure_future(ModelWatch(app).run())
