"""One replaced attribute of a Rasa class, applied and undone the same way everywhere."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, List, Sequence


@dataclass(frozen=True)
class Patch:
    owner: type
    name: str
    value: object


def apply(patches: Sequence[Patch]) -> Callable[[], None]:
    """Set every patch; return the function that puts Rasa's originals back (in reverse order)."""
    originals: List[Patch] = []
    for patch in patches:
        originals.append(Patch(patch.owner, patch.name, patch.owner.__dict__[patch.name]))
        setattr(patch.owner, patch.name, patch.value)

    def undo() -> None:
        for original in reversed(originals):
            setattr(original.owner, original.name, original.value)

    return undo


@contextmanager
def applied(patches: Sequence[Patch]) -> Iterator[None]:
    """The patches for the duration of a block (tests compare patched and stock Rasa this way)."""
    undo = apply(patches)
    try:
        yield
    finally:
        undo()
