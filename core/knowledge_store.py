"""The knowledge as staff keep it: versions in the database, the YAML file as the reviewed seed.

Why the database: in production several action servers run on several machines, and a fact staff
correct must reach all of them within seconds without a restart. Every action server already
reaches the conversation database (``DATABASE_URL``), so the knowledge lives there beside the
console's tables, as whole validated versions:

* a version is the complete knowledge document (YAML text), who made it, when, why (a required
  note) and which fact it changed, so history, diffs and revert need nothing else;
* version numbers are the primary key: two saves based on the same version cannot both win, and
  an edit of a fact that changed since its form was opened is refused (the fact's fingerprint);
* the file ``knowledge/programs.yml`` seeds an empty store, and a newer file is imported on its
  own while staff have not edited since the last import; after staff edits it waits for
  ``admissions-logs knowledge import`` (``knowledge export`` writes the store back as YAML);
* readers (:class:`StoredKnowledge`) answer from the last good version in memory and look for a
  newer one in a background thread: a store that is down or holds a broken version never takes
  answers down.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import sqlalchemy as sa
import yaml
from ruamel.yaml import YAML
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from core.database import small_engine
from core.knowledge import Knowledge, KnowledgeError, knowledge_file_from_env, load_knowledge, parse_knowledge

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
versions = sa.Table(
    "knowledge_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    # seed (the file filled an empty store) | import (a file replaced the store) | edit | revert
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("path", sa.String(255)),  # the fact an edit or revert changed (Knowledge.facts' paths)
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    # The hash of the file this version descends from: a file is imported once, not on every start.
    sa.Column("seed_hash", sa.String(64), nullable=False),
    sa.Column("reverts", sa.Integer),  # the version whose change a revert undid
)

FILE_ACTIONS = ("seed", "import")
FACT_FIELDS = (
    "text",
    "summary",
    "items",
    "gaps",
    "source",
    "also",
    "link",
    "cycle",
    "as_of",
    "dates",
    "cycle_ends",
    "late",
    "general",
)
URL_FIELDS = ("source", "link")
DEFAULT_OFFICIAL_HOSTS = ("heinz.cmu.edu", "cmu.edu")
NOTE_LIMIT = 500
SAVE_ATTEMPTS = 5


class ChangeRefused(Exception):
    """A change that was not saved: ``field`` (a form field, or ``""`` for the whole change) and why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}" if field_name else reason)
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Version:
    id: int
    created_at: float
    author: str
    action: str
    path: Optional[str]
    note: str
    seed_hash: str
    reverts: Optional[int] = None

    @property
    def by_staff(self) -> bool:
        return self.action not in FILE_ACTIONS


@dataclass(frozen=True)
class Change:
    """One entry of a fact's history: the version and the fact before and after it."""

    version: Version
    before: Optional[Dict[str, Any]]
    after: Optional[Dict[str, Any]]
    diff: List[str] = field(default_factory=list)


# -- the document ---------------------------------------------------------------------------------
# libyaml's C loader and dumper when PyYAML has them: the document is ~47 KB, which the pure-Python
# loader reads in ~100 ms and the C one in ~6 ms (a fact's history reads two documents per change).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_document(document: Dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)


def read_document(text: str) -> Dict[str, Any]:
    try:
        loaded = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
    except (yaml.YAMLError, ValueError) as error:
        raise KnowledgeError(f"the stored knowledge is not valid YAML: {error}".splitlines()[0]) from None
    if not isinstance(loaded, dict):
        raise KnowledgeError("the stored knowledge is not a mapping")
    return loaded


def file_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fact_keys(path: str) -> List[str]:
    """``programs.msit.facts.deadlines`` -> its keys in the document; only the three places facts live."""
    parts = path.split(".")
    shapes_ok = (
        (len(parts) == 3 and parts[0] == "topics" and parts[2] == "fact")
        or (len(parts) == 4 and parts[0] == "programs" and parts[2] == "facts")
        or (len(parts) == 6 and parts[0] == "programs" and parts[2] == "tracks" and parts[4] == "facts")
    )
    if not shapes_ok or not all(parts):
        raise ChangeRefused("", f"not a place for a fact: {path!r}")
    return parts


def get_fact(document: Dict[str, Any], path: str) -> Optional[Dict[str, Any]]:
    node: Any = document
    for key in fact_keys(path):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def set_fact(document: Dict[str, Any], path: str, fact: Optional[Dict[str, Any]]) -> None:
    """Put ``fact`` at ``path`` (``None`` removes it); its topic, program or track must exist already."""
    keys = fact_keys(path)
    owner = keys[:4] if len(keys) == 6 else keys[:2]
    node: Any = document
    for key in owner:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ChangeRefused("", f"{'.'.join(owner)} does not exist")
    rest = keys[len(owner) :]  # ["fact"] or ["facts", topic]
    for key in rest[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if fact is None:
        node.pop(rest[-1], None)
    else:
        node[rest[-1]] = fact


def fingerprint(fact: Optional[Dict[str, Any]]) -> str:
    """What a form remembers of the fact it opened: a hash of its content (``-`` for no fact)."""
    if fact is None:
        return "-"
    return hashlib.sha256(json.dumps(fact, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def fact_lines(fact: Optional[Dict[str, Any]]) -> List[str]:
    return dump_document(fact).splitlines() if fact else []


def fact_diff(before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> List[str]:
    """A unified diff of a fact as YAML lines, without the file headers."""
    lines = difflib.unified_diff(fact_lines(before), fact_lines(after), lineterm="", n=1)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def official(url: str, hosts: Sequence[str]) -> bool:
    """An https page on one of ``hosts`` or their subdomains (``www.heinz.cmu.edu`` under ``cmu.edu``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("https", "http") and any(host == h or host.endswith("." + h) for h in hosts)


def check_sources(before: Optional[Dict[str, Any]], after: Dict[str, Any], hosts: Sequence[str]) -> None:
    """Every changed page a fact cites is an official one: its ``source`` always, ``link`` and new ``also``s."""
    if not after.get("source"):
        raise ChangeRefused("source", "every fact needs the official page it comes from")
    old = before or {}
    for name in URL_FIELDS:
        value = after.get(name)
        if value and (name == "source" or value != old.get(name)) and not official(str(value), hosts):
            raise ChangeRefused(name, f"{value} is not an official page (allowed: {', '.join(hosts)})")
    for url in after.get("also") or []:
        if url not in (old.get("also") or []) and not official(str(url), hosts):
            raise ChangeRefused("also", f"{url} is not an official page (allowed: {', '.join(hosts)})")


def _field_of(problem: str, path: str) -> str:
    """The form field a validation message names (``programs.msit.facts.x.as_of: ...`` -> ``as_of``)."""
    head = problem.split(":", 1)[0].strip()
    if head.startswith(path + "."):
        return head[len(path) + 1 :].split(".", 1)[0]
    return ""


def validate(document: Dict[str, Any], origin: str, path: Optional[str] = None) -> Knowledge:
    """The loader's own validation; a problem is refused with the fact's field when it names one."""
    try:
        return parse_knowledge(copy.deepcopy(document), origin)
    except KnowledgeError as error:
        message = str(error).split(" — ", 1)[-1]
        first = message.split("; ")[0]
        name = _field_of(first, path) if path else ""
        reason = first.split(":", 1)[1].strip() if name else message
        raise ChangeRefused(name, reason) from None


# -- the store --------------------------------------------------------------------------------------
def _version(row: Any) -> Version:
    return Version(
        id=row.id,
        created_at=row.created_at,
        author=row.author,
        action=row.action,
        path=row.path,
        note=row.note,
        seed_hash=row.seed_hash,
        reverts=row.reverts,
    )


_VERSION_COLUMNS = [c for c in versions.c if c.name != "document"]


class KnowledgeStore:
    """Versions of the knowledge in one database (SQLite file or PostgreSQL)."""

    def __init__(self, database_url: str, seed_file: Optional[Path] = None) -> None:
        self.engine = small_engine(database_url)
        self.seed_file = Path(seed_file or knowledge_file_from_env())
        self._schema_ready = False

    def dispose(self) -> None:
        self.engine.dispose()

    def create_schema(self) -> None:
        if not self._schema_ready:
            try:
                metadata.create_all(self.engine)
            except SQLAlchemyError:  # two processes creating it at once: the other one won
                if not sa.inspect(self.engine).has_table(versions.name):
                    raise
            self._schema_ready = True

    # -- reading --------------------------------------------------------------------------------
    def latest(self) -> Optional[Version]:
        self.create_schema()
        query = sa.select(*_VERSION_COLUMNS).order_by(versions.c.id.desc()).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return _version(row) if row else None

    def version(self, version_id: int) -> Optional[Version]:
        self.create_schema()
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*_VERSION_COLUMNS).where(versions.c.id == version_id)).first()
        return _version(row) if row else None

    def document(self, version_id: int) -> Dict[str, Any]:
        with self.engine.connect() as connection:
            text = connection.execute(sa.select(versions.c.document).where(versions.c.id == version_id)).scalar()
        if text is None:
            raise KnowledgeError(f"knowledge version {version_id} does not exist")
        return read_document(text)

    def current(self) -> Tuple[Version, Dict[str, Any]]:
        """The newest version and its document, seeding an empty store from the file first."""
        latest = self.latest() or self.sync_file()
        if latest is None:
            raise KnowledgeError("the knowledge store is empty and the knowledge file could not seed it")
        return latest, self.document(latest.id)

    def versions(self, path: Optional[str] = None, limit: int = 200) -> List[Version]:
        """Versions newest first, without their documents (of one fact, with ``path``)."""
        self.create_schema()
        query = sa.select(*_VERSION_COLUMNS).order_by(versions.c.id.desc()).limit(limit)
        if path:
            query = query.where(versions.c.path == path)
        with self.engine.connect() as connection:
            return [_version(row) for row in connection.execute(query)]

    def history(self, path: Optional[str] = None, limit: int = 50) -> List[Change]:
        """Changes newest first (of one fact, with ``path``), each with the fact before and after."""
        changes = []
        documents: Dict[int, Dict[str, Any]] = {}

        def document(version_id: int) -> Dict[str, Any]:
            if version_id not in documents:
                documents[version_id] = self.document(version_id)
            return documents[version_id]

        for version in self.versions(path, limit):
            if version.path is None or version.id == 1:
                changes.append(Change(version, None, None))
                continue
            before = get_fact(document(version.id - 1), version.path)
            after = get_fact(document(version.id), version.path)
            changes.append(Change(version, before, after, fact_diff(before, after)))
        return changes

    # -- writing --------------------------------------------------------------------------------
    def _insert(self, base: Optional[Version], document: Dict[str, Any], **values: Any) -> Version:
        """Write the version after ``base``; ``IntegrityError`` if someone else wrote it first."""
        row = {
            "id": (base.id if base else 0) + 1,
            "created_at": time.time(),
            "document": dump_document(document),
            "seed_hash": values.pop("seed_hash", None) or (base.seed_hash if base else ""),
            **values,
        }
        with self.engine.begin() as connection:
            connection.execute(sa.insert(versions).values(**row))
        return Version(**{k: v for k, v in row.items() if k != "document"})

    def import_file(self, path: Optional[Path] = None, author: str = "knowledge file", note: str = "") -> Version:
        """Replace the store's knowledge with a file's (validated like any change); recorded in history."""
        path = Path(path or self.seed_file)
        knowledge_text = path.read_text(encoding="utf-8")
        load_knowledge(path)  # the file's own messages (line numbers, its name) for a broken file
        document = read_document(knowledge_text)
        for _ in range(SAVE_ATTEMPTS):
            latest = self.latest()
            try:
                return self._insert(
                    latest,
                    document,
                    author=author,
                    action="seed" if latest is None else "import",
                    path=None,
                    note=note or f"imported {path.name}",
                    seed_hash=file_hash(knowledge_text),
                )
            except IntegrityError:
                continue
        raise ChangeRefused("", "the knowledge kept changing while importing; try again")

    def sync_file(self) -> Optional[Version]:
        """Seed an empty store from the file, or import a newer file while staff have not edited since.

        "Newer" means changed since the store's latest version was written (its modification time),
        so a machine still running an older checkout never brings back the old file.
        Returns the version written, or ``None``.
        """
        latest = self.latest()
        try:
            text = self.seed_file.read_text(encoding="utf-8")
            modified = self.seed_file.stat().st_mtime
        except (OSError, UnicodeDecodeError) as error:
            raise KnowledgeError(f"{self.seed_file}: cannot be read ({error})") from None
        if latest is not None:
            unchanged = file_hash(text) == latest.seed_hash
            if unchanged or latest.by_staff or modified <= latest.created_at:
                return None
        try:
            return self.import_file(self.seed_file, note=f"{self.seed_file.name} changed" if latest else "")
        except IntegrityError:
            return None

    def file_waiting(self) -> bool:
        """The file changed after staff edits: it waits for ``admissions-logs knowledge import``."""
        latest = self.latest()
        try:
            text = self.seed_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        return bool(latest and latest.by_staff and file_hash(text) != latest.seed_hash)

    def change_fact(
        self,
        path: str,
        fact: Optional[Dict[str, Any]],
        opened: str,
        author: str,
        note: str,
        hosts: Sequence[str] = DEFAULT_OFFICIAL_HOSTS,
    ) -> Version:
        """Save a fact (``None`` deletes it) if it is still the one the form opened (``opened``, its
        fingerprint), with an official source, and the whole knowledge still validates."""
        note = (note or "").strip()
        if not note:
            raise ChangeRefused("note", "say why you are changing this fact (the note is kept in the history)")
        if len(note) > NOTE_LIMIT:
            raise ChangeRefused("note", f"keep the note under {NOTE_LIMIT} characters")
        for _ in range(SAVE_ATTEMPTS):
            latest, document = self.current()
            before = get_fact(document, path)
            if fingerprint(before) != opened:
                raise ChangeRefused("", self._changed_since(path))
            if fact == before:
                raise ChangeRefused("", "nothing changed")
            if fact is not None:
                check_sources(before, fact, hosts)
            set_fact(document, path, fact)
            validate(document, "the changed knowledge", path)
            try:
                return self._insert(latest, document, author=author, action="edit", path=path, note=note)
            except IntegrityError:
                continue  # another fact was saved meanwhile: check this one again on the newer version
        raise ChangeRefused("", "the knowledge kept changing while saving; try again")

    def _changed_since(self, path: str) -> str:
        last = self.history(path, limit=1)
        who = f" by {last[0].version.author}" if last and last[0].version.by_staff else ""
        return f"this fact was changed{who} since you opened it; reload it, check the new text and edit again"

    def revert(self, version_id: int, author: str, note: str = "") -> Version:
        """Undo one edit: its fact goes back to what it was before, if nobody changed it since."""
        version = self.version(version_id)
        if version is None or version.path is None or version.id == 1:
            raise ChangeRefused("", "only a change of one fact can be reverted")
        before = get_fact(self.document(version.id - 1), version.path)
        after = get_fact(self.document(version.id), version.path)
        note = note.strip() or f"revert of version {version.id} ({version.note})"
        for _ in range(SAVE_ATTEMPTS):
            latest, document = self.current()
            if get_fact(document, version.path) != after:
                raise ChangeRefused("", "this fact changed again after that version; revert the later change first")
            set_fact(document, version.path, before)
            validate(document, "the reverted knowledge", version.path)
            try:
                return self._insert(
                    latest,
                    document,
                    author=author,
                    action="revert",
                    path=version.path,
                    note=note[:NOTE_LIMIT],
                    reverts=version.id,
                )
            except IntegrityError:
                continue
        raise ChangeRefused("", "the knowledge kept changing while reverting; try again")


# -- export in the file's format ----------------------------------------------------------------------
def export_yaml(document: Dict[str, Any], seed_file: Path) -> str:
    """The document as YAML in the seed file's layout: its comments and order kept where nothing
    changed (ruamel.yaml's round trip, which Rasa ships), changed parts written in its style."""
    loader = YAML()
    loader.width = 4096  # type: ignore[assignment]  # never re-fold the file's long lines
    loader.indent(mapping=2, sequence=4, offset=2)
    loader.preserve_quotes = True  # type: ignore[assignment]
    try:
        tree = loader.load(seed_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        tree = None
    if not isinstance(tree, dict):
        tree = {}
    merged = _merge(tree, document)
    stream = _Text()
    loader.dump(merged, stream)
    return stream.value


def _merge(old: Any, new: Any) -> Any:
    """``new``'s content in ``old``'s containers (so their comments stay): maps key by key, the rest replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = _merge(old[key], value) if key in old else value
        return old
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, value in enumerate(new):
            old[index] = _merge(old[index], value)
        return old
    if _same(old, new):
        return old
    return new


def _same(old: Any, new: Any) -> bool:
    """Equal scalars (ruamel's string and date types compare equal to plain ones)."""
    return not isinstance(old, (dict, list)) and not isinstance(new, (dict, list)) and old == new


class _Text:
    def __init__(self) -> None:
        self.value = ""

    def write(self, data: Any) -> None:
        self.value += data.decode("utf-8") if isinstance(data, bytes) else data


# -- readers ------------------------------------------------------------------------------------------
class StoredKnowledge:
    """What the action server answers from: the newest good version, kept fresh by a background thread.

    It starts from the file (so answers never wait for the database), then every ``poll_seconds``
    looks for a newer version (one small query) and seeds or imports the file as ``sync_file`` says.
    A version that fails validation, or a store that cannot be reached, leaves the last good
    knowledge answering and the reason in ``last_error``.
    """

    def __init__(self, database_url: str, seed_file: Optional[Path] = None, poll_seconds: float = 2.0) -> None:
        self.store = KnowledgeStore(database_url, seed_file)
        self.poll_seconds = poll_seconds
        self._knowledge: Knowledge = load_knowledge(self.store.seed_file)
        self.version: Optional[int] = None
        self.last_error: Optional[str] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._file_stamp: Tuple[float, int] = (0.0, -1)
        self.file_error: Optional[str] = None
        self.refresh()

    def get(self) -> Knowledge:
        if self._thread is None:
            self._start()
        return self._knowledge

    def refresh(self) -> bool:
        """Look once for a newer version; True when the knowledge changed."""
        with self._lock:
            try:
                self._sync_file()
                latest = self.store.latest()
                if latest is None or latest.id == self.version:
                    self._clear_error()
                    return False
                knowledge = parse_knowledge(self.store.document(latest.id), f"knowledge version {latest.id}")
            except (KnowledgeError, SQLAlchemyError, OSError) as error:
                self._failed(error)
                return False
            self._knowledge, self.version = knowledge, latest.id
            self._clear_error()
            logger.info("Knowledge version %s is live (%s by %s).", latest.id, latest.action, latest.author)
            return True

    def _sync_file(self) -> None:
        """``sync_file`` once per change of the file seen here (a stat, not a read, on every poll)."""
        try:
            stat = self.store.seed_file.stat()
        except OSError:
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._file_stamp:
            try:
                self.store.sync_file()
                self.file_error = None
            except KnowledgeError as error:  # a broken file is not imported; the store still answers
                if str(error) != self.file_error:
                    logger.error("Knowledge file edit rejected, still answering from the last good version: %s", error)
                self.file_error = str(error)
            self._file_stamp = stamp

    def _clear_error(self) -> None:
        if self.last_error:
            logger.info("The knowledge store answers again.")
        self.last_error = None

    def _failed(self, error: Exception) -> None:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        if reason != self.last_error:
            logger.error("Knowledge not refreshed, still answering from the last good version: %s", reason)
        self.last_error = reason

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_poll,
                    args=(weakref.ref(self), self._stop, self.poll_seconds),
                    daemon=True,
                    name="knowledge-poll",
                )
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.store.dispose()


def _poll(source: "weakref.ref[StoredKnowledge]", stop: threading.Event, seconds: float) -> None:
    """The refresh loop; ends when the source is closed or garbage collected."""
    while not stop.wait(seconds):
        current = source()
        if current is None:
            return
        current.refresh()
        del current


def stored_facts(document: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Every fact of a document with its path, as ``Knowledge.facts`` names them."""
    for topic_id, topic in (document.get("topics") or {}).items():
        if isinstance(topic, dict) and isinstance(topic.get("fact"), dict):
            yield f"topics.{topic_id}.fact", topic["fact"]
    for program_id, program in (document.get("programs") or {}).items():
        for topic_id, fact in (program.get("facts") or {}).items():
            yield f"programs.{program_id}.facts.{topic_id}", fact
        for track_id, track in (program.get("tracks") or {}).items():
            for topic_id, fact in (track.get("facts") or {}).items():
                yield f"programs.{program_id}.tracks.{track_id}.facts.{topic_id}", fact
