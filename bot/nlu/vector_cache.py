"""Training examples' sentence vectors, kept between trainings so that only new texts are encoded.

Encoding every example with both encoders is most of a training's time, and a training usually
changes a few examples: staff retrain from the console after adding three, a developer after editing
one file. A vector depends only on its text and the encoder, so the vectors are kept per encoder
(its ``name`` says which model and version) in Rasa's training cache folder (``RASA_CACHE_DIRECTORY``,
default ``.rasa/cache``). A cache that cannot be read is rebuilt and one that cannot be written is
skipped, with a warning: training is then only slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from rasa.engine.caching import CACHE_LOCATION_ENV, DEFAULT_CACHE_LOCATION

logger = logging.getLogger(__name__)

FOLDER = "sentence-vectors"
# Vectors kept per encoder (a training has about 3,000; 50,000 are 77 MB); past this, only the
# last training's texts are kept.
MAX_ENTRIES = 50_000


def cache_directory() -> Path:
    """Where the vectors live: beside Rasa's own training cache."""
    return Path(os.environ.get(CACHE_LOCATION_ENV, DEFAULT_CACHE_LOCATION)) / FOLDER


def text_key(text: str) -> str:
    """A fixed-length key for a text (a text may be long or hold any character)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def cached_vectors(
    name: str,
    texts: Sequence[str],
    encode: Callable[[List[str]], np.ndarray],
    directory: Optional[Path] = None,
) -> np.ndarray:
    """``encode(texts)``, one row per text, encoding only the texts this encoder has not seen."""
    path = (directory or cache_directory()) / f"{name}.npz"
    keys = [text_key(text) for text in texts]
    known = read(path)
    missing = {key: text for key, text in zip(keys, texts) if key not in known}
    if missing:
        vectors = encode(list(missing.values()))
        if known and next(iter(known.values())).shape != vectors.shape[1:]:
            logger.warning("Sentence-vector cache %s holds another encoder's vectors: encoding every text again.", path)
            known, missing = {}, dict(zip(keys, texts))
            vectors = encode(list(missing.values()))
        known.update(zip(missing, vectors))
        write(path, known if len(known) <= MAX_ENTRIES else {key: known[key] for key in keys})
    if not keys:
        return encode([])
    return np.stack([known[key] for key in keys])


def read(path: Path) -> Dict[str, np.ndarray]:
    """The stored vectors by text key; empty when there are none or the file is unreadable."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as saved:
            keys, vectors = saved["keys"], saved["vectors"]
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        return dict(zip((str(key) for key in keys), vectors))
    except (OSError, ValueError, KeyError, EOFError) as error:
        logger.warning("Sentence-vector cache %s is unreadable (%s): encoding every text again.", path, error)
        return {}


def write(path: Path, vectors: Dict[str, np.ndarray]) -> None:
    """Replace the stored vectors in one rename, so a training running beside never reads half a file."""
    temporary: Optional[Path] = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as file:
            temporary = Path(file.name)
            np.savez(file, keys=np.array(list(vectors), dtype="U40"), vectors=np.stack(list(vectors.values())))
        # A temporary file is private (0600); the cache holds nothing secret, and a training run as
        # another user (the console's, a developer's) should read it rather than encode everything.
        temporary.chmod(0o644)
        os.replace(temporary, path)
    except OSError as error:
        logger.warning("Sentence-vector cache %s cannot be written (%s): the next training encodes again.", path, error)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
