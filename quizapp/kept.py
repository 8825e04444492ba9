"""Per-process copies of what never changes under its key: a drawn paper's public form, the ranked
child units of one ranking snapshot. The key carries the stamp that a rewrite changes
(``paper_drawn_at``, ``computed_at``), so a copy is never stale in another worker; the writer also
forgets its own process's copies, for a rewrite within the same instant.

Each app has its own stores (tests build many apps in one process). Plain dict operations, atomic
under the GIL: no lock on the read path (a costly make may take one, ``once``). The oldest entries go
first once a store is full.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app


class Kept:
    def __init__(self, size: int):
        self.size = size
        self.values: dict[Hashable, Any] = {}
        self.making = threading.Lock()

    def get(self, key: Hashable) -> Any:
        return self.values.get(key)

    def put(self, key: Hashable, value: Any) -> Any:
        while len(self.values) >= self.size:
            try:
                self.values.pop(next(iter(self.values)), None)
            except (StopIteration, RuntimeError):  # emptied or changed by another thread meanwhile
                break
        self.values[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Any], *, once: bool = False) -> Any:
        """The kept value, or ``make()``'s. ``once``: for a costly ``make``, threads that miss at the
        same moment wait for the first one's value instead of each making it — so such a ``make``
        must not wait for anything those threads may hold (no writes, no flush: plain reads)."""
        value = self.values.get(key)
        if value is not None:
            return value
        if not once:
            return self.put(key, make())
        with self.making:
            value = self.values.get(key)
            return value if value is not None else self.put(key, make())

    def forget(self, matches: Callable[[Hashable], bool]) -> None:
        for key in [key for key in list(self.values) if matches(key)]:
            self.values.pop(key, None)


def store(name: str, size: int) -> Kept:
    """The app's store called ``name`` (made on first use)."""
    return current_app.extensions.setdefault(f"quizapp.kept.{name}", Kept(size))
