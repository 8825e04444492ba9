"""The in-process broadcast: the latest state of each contest, and a condition every held stream
waits on. One process serves a hall (``quizapp serve``: waitress, one process, many threads), so
a write publishes here after its commit and every screen and phone stream of that process wakes.

Several processes (gunicorn) would each have their own hub: README says what a bigger event needs
(one process per contest, or a cross-process channel such as PostgreSQL LISTEN/NOTIFY or Redis)."""

from __future__ import annotations

import threading


class Hub:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._latest: dict[str, tuple[int, dict, dict]] = {}  # join code → (seq, setup, state)

    def publish(self, code: str, setup: dict, state: dict) -> None:
        with self._changed:
            held = self._latest.get(code)
            if held is None or state["seq"] >= held[0]:
                self._latest[code] = (state["seq"], setup, state)
                self._changed.notify_all()

    def latest(self, code: str) -> tuple[int, dict, dict] | None:
        with self._changed:
            return self._latest.get(code)

    def wait(self, code: str, after_seq: int, timeout: float) -> tuple[int, dict, dict] | None:
        """The contest's latest (seq, setup, state) once its seq passes ``after_seq``; None on timeout."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._latest.get(code, (after_seq,))[0] > after_seq, timeout=timeout
            )
            held = self._latest.get(code)
            return held if held is not None and held[0] > after_seq else None


hub = Hub()
