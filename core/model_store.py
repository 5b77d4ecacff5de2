"""Models staff train on the console, and which one every Rasa server runs.

Why the database: Rasa servers run on several machines (and each Sanic worker loads its own agent),
so "activate" cannot be a file on one machine. A trained model (about 10 MB) is kept as a row here,
beside the conversations every server already reaches; one row is *active*, and each Rasa worker
(``bot/channels/model_watch.py``) loads the active model when it changes, so activating and rolling
back reach every server and survive restarts. Every activation and roll-back is recorded.

A training run is a row too: one at a time (a second start is refused while one runs), its progress
and report written by the job as it goes, so the page shows them after a reload or on another
machine.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.database import small_engine

metadata = sa.MetaData()
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# training -> candidate (gate held) | rejected (gate failed) | failed (an error); candidate -> active -> retired
RUNNING, CANDIDATE, REJECTED, FAILED, ACTIVE, RETIRED = (
    "training",
    "candidate",
    "rejected",
    "failed",
    "active",
    "retired",
)

models = sa.Table(
    "assistant_models",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Text, nullable=False, server_default=""),
    sa.Column("step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("steps", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("report", sa.Text),  # JSON: before/after figures and the gate's verdict
    sa.Column("examples", sa.Integer, nullable=False, server_default="0"),
    sa.Column("finished_at", sa.Float),
    sa.Column("sha256", sa.String(64)),
    sa.Column("model", sa.LargeBinary),
    sa.Index("assistant_models_status", "status", "id"),
)
# One training at a time and one active model, whichever process writes (both dialects have partial indexes).
for _status in (RUNNING, ACTIVE):
    _where = models.c.status == _status
    sa.Index(
        f"assistant_models_one_{_status}", models.c.status, unique=True, sqlite_where=_where, postgresql_where=_where
    )

activations = sa.Table(
    "assistant_model_activations",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("by", sa.String(255), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # activate | roll back
    sa.Column("model_id", sa.Integer, nullable=False),
    sa.Column("previous_id", sa.Integer),
)

_SUMMARY = [c for c in models.c if c.name != "model"]


class ModelStoreError(Exception):
    """A request the store refuses (a training already running, a model that did not pass the gate)."""


@dataclass(frozen=True)
class ModelRow:
    id: int
    created_at: float
    created_by: str
    status: str
    progress: str
    step: int
    steps: int
    error: Optional[str]
    report: Dict[str, Any]
    examples: int
    finished_at: Optional[float]
    sha256: Optional[str]

    @property
    def gate_held(self) -> bool:
        return bool(self.report.get("gate", {}).get("held"))


def _row(row: Any) -> ModelRow:
    values = dict(row._mapping)
    values["report"] = json.loads(values.get("report") or "{}")
    values.pop("model", None)
    return ModelRow(**values)


class ModelStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ready = False

    @classmethod
    def at(cls, database_url: str) -> "ModelStore":
        return cls(small_engine(database_url))

    def create_schema(self) -> None:
        if not self._ready:
            try:
                metadata.create_all(self.engine)
            except sa.exc.SQLAlchemyError:  # another process created them at the same moment
                if not sa.inspect(self.engine).has_table(models.name):
                    raise
            self._ready = True

    # -- reading --------------------------------------------------------------------------------
    def get(self, model_id: int) -> Optional[ModelRow]:
        self.create_schema()
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_SUMMARY).where(models.c.id == model_id)).first()
        return _row(row) if row else None

    def runs(self, limit: int = 20) -> List[ModelRow]:
        self.create_schema()
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*_SUMMARY).order_by(models.c.id.desc()).limit(limit)).all()
        return [_row(row) for row in rows]

    def running(self) -> Optional[ModelRow]:
        return self._one(RUNNING)

    def active(self) -> Optional[ModelRow]:
        return self._one(ACTIVE)

    def _one(self, status: str) -> Optional[ModelRow]:
        self.create_schema()
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_SUMMARY).where(models.c.status == status)).first()
        return _row(row) if row else None

    def active_id(self) -> Optional[int]:
        """The one small query every Rasa worker runs to notice an activation."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(models.c.id).where(models.c.status == ACTIVE)).scalar()

    def model_bytes(self, model_id: int) -> bytes:
        with self.engine.connect() as connection:
            data = connection.execute(sa.select(models.c.model).where(models.c.id == model_id)).scalar()
        if data is None:
            raise ModelStoreError(f"model {model_id} has no trained file")
        return bytes(data)

    def activations(self, limit: int = 20) -> List[Dict[str, Any]]:
        self.create_schema()
        with self.engine.connect() as connection:
            query = sa.select(activations).order_by(activations.c.id.desc()).limit(limit)
            return [dict(row._mapping) for row in connection.execute(query)]

    # -- a training run -------------------------------------------------------------------------
    def start(self, by: str, examples: int, steps: int) -> int:
        """A new run, refused while another one runs (the unique index decides a race)."""
        self.create_schema()
        try:
            with self.engine.begin() as connection:
                result = connection.execute(
                    sa.insert(models).values(
                        created_at=time.time(),
                        created_by=by,
                        status=RUNNING,
                        progress="Waiting to start",
                        steps=steps,
                        examples=examples,
                    )
                )
                return int(result.inserted_primary_key[0])
        except IntegrityError:
            raise ModelStoreError("A model is being trained already; wait for it to finish.") from None

    def progress(self, model_id: int, step: int, text: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.update(models).where(models.c.id == model_id).values(step=step, progress=text))

    def finish(self, model_id: int, model_file: Path, report: Dict[str, Any]) -> None:
        data = model_file.read_bytes()
        status = CANDIDATE if report.get("gate", {}).get("held") else REJECTED
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(models)
                .where(models.c.id == model_id)
                .values(
                    status=status,
                    model=data,
                    sha256=hashlib.sha256(data).hexdigest(),
                    report=json.dumps(report),
                    finished_at=time.time(),
                    progress="Done",
                    step=models.c.steps,
                )
            )

    def fail(self, model_id: int, error: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(models)
                .where(models.c.id == model_id, models.c.status == RUNNING)
                .values(status=FAILED, error=error[:4000], finished_at=time.time())
            )

    def abandon_stale(self, older_than_seconds: float) -> None:
        """A run whose job died (machine restarted) without saying so must not block training forever."""
        cutoff = time.time() - older_than_seconds
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(models)
                .where(models.c.status == RUNNING, models.c.created_at < cutoff)
                .values(status=FAILED, error="the training job stopped without finishing", finished_at=time.time())
            )

    # -- activation -----------------------------------------------------------------------------
    def activate(self, model_id: int, by: str) -> None:
        """Make a model that passed its gate the active one (the previous one is kept for roll-back)."""
        target = self.get(model_id)
        if target is None or target.status not in (CANDIDATE, RETIRED) or not target.gate_held:
            raise ModelStoreError("Only a trained model that passed its checks can be activated.")
        self._switch(model_id, by, "activate")

    def roll_back(self, by: str) -> int:
        """Activate the model that was active before the current one (the shipped model when none)."""
        self.create_schema()
        with self.engine.connect() as connection:
            last = connection.execute(
                sa.select(activations.c.previous_id, activations.c.model_id).order_by(activations.c.id.desc()).limit(1)
            ).first()
        if last is None:
            raise ModelStoreError("No model was activated from the console: nothing to roll back.")
        self._switch(last.previous_id, by, "roll back")
        return int(last.previous_id or 0)

    def _switch(self, model_id: Optional[int], by: str, action: str) -> None:
        """``model_id`` None means the model the servers were started with."""
        with self.engine.begin() as connection:
            current = connection.execute(sa.select(models.c.id).where(models.c.status == ACTIVE)).scalar()
            connection.execute(sa.update(models).where(models.c.status == ACTIVE).values(status=RETIRED))
            if model_id is not None:
                connection.execute(sa.update(models).where(models.c.id == model_id).values(status=ACTIVE))
            connection.execute(
                sa.insert(activations).values(
                    at=time.time(), by=by, action=action, model_id=model_id or 0, previous_id=current
                )
            )
