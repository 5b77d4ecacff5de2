"""Unit tests keep the training vectors of their toy examples out of the project's cache folder."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture(scope="package", autouse=True)
def private_vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throw-away ``RASA_CACHE_DIRECTORY`` for the unit tests (package-wide, so that module-scoped
    fixtures which train see it too): a toy training never touches ``.rasa/cache``. Not session-wide:
    a later test of another folder in the same worker would train on an empty cache."""
    folder = tmp_path_factory.mktemp("rasa-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(folder))
        yield folder
