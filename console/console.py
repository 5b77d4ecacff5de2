"""The console's services for one database, shared by the web views and the CLI.

Creating a :class:`Console` does not touch the database; the first use creates the console's tables
(so the web app starts even while PostgreSQL is still coming up). :meth:`Console.refresh` folds new
tracker events into the summary tables, at most every couple of seconds and within a time budget,
so page views stay quick even right after the console is first pointed at a large database.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from console.auth.accounts import Authenticator
from console.config import StaffConfig, load_config
from console.conversations.queries import ConversationQueries
from console.data.database import ConsoleDatabase
from console.data.review import Reviews
from console.data.sync import Summariser, SyncResult
from console.data.vocabulary import KnowledgeLoader, Vocabulary
from console.followups.inbox import Followups
from console.live.chat import LiveChat
from console.missed.queries import MissedQueries
from console.trends.queries import TrendQueries
from core.knowledge_store import KnowledgeStore
from core.model_store import ModelStore
from core.settings import Settings

logger = logging.getLogger(__name__)


class Console:
    """Every service of the console over one database: what the views and the CLI share."""

    def __init__(
        self,
        settings: Settings,
        config: Optional[StaffConfig] = None,
        knowledge: Optional[KnowledgeLoader] = None,
    ) -> None:
        self.settings = settings
        self.config = config or load_config()
        self.store = ConsoleDatabase(settings.database_url)
        self.vocabulary = Vocabulary(knowledge)
        self.tz = self.config.timezone
        self.threshold = float(settings.low_confidence_threshold)
        # Each feature's queries, over the one database (console/<feature>/queries.py).
        self.conversation_queries = ConversationQueries(self.store, self.threshold, self.tz)
        self.missed_queries = MissedQueries(self.store, self.threshold, self.tz)
        self.trend_queries = TrendQueries(self.store, self.threshold, self.tz)
        self.reviews = Reviews(self.store)
        self.followups = Followups(self.store)
        self.auth = Authenticator(self.store, self.config)
        self.summariser = Summariser(self.store, self.vocabulary)
        self.live = LiveChat(self.store, settings, self.tz, self.threshold)
        # The facts staff keep (core/knowledge_store.py), in the same database.
        self.knowledge = KnowledgeStore(settings.database_url)
        # Models trained on the console and the one every Rasa server runs (core/model_store.py).
        self.models = ModelStore.at(settings.database_url)
        self.last_sync = SyncResult()
        self._prepared = False
        self._indexed = False
        self._last_refresh = 0.0
        self._lock = threading.Lock()

    def prepare(self) -> None:
        """Create the console's tables (idempotent; once per process)."""
        if self._prepared:
            return
        with self._lock:
            if not self._prepared:
                self.store.create_schema()
                self._prepared = True

    def _index_events(self) -> None:
        if not self._indexed and self.store.has_events_table():
            self.store.index_events()
            self._indexed = True

    def refresh(self, force: bool = False, budget: Optional[float] = None) -> SyncResult:
        """Catch up with new events; page views call this, so it is throttled and time-boxed.

        ``force`` runs now and until caught up (the CLI); otherwise a run is skipped when one ran in
        the last ``sync_interval_seconds`` or another thread is running one.
        """
        self.prepare()
        now = time.monotonic()
        if not force and now - self._last_refresh < self.config.sync_interval_seconds:
            return self.last_sync
        if not self._lock.acquire(blocking=force):
            return self.last_sync
        try:
            self._index_events()
            limit = None if force else (budget if budget is not None else self.config.sync_budget_seconds)
            self.last_sync = self.summariser.run(budget_seconds=limit)
            self._last_refresh = time.monotonic()
        finally:
            self._lock.release()
        return self.last_sync

    def close(self) -> None:
        self.store.dispose()
        self.knowledge.dispose()
        self.models.engine.dispose()
