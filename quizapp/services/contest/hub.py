"""The in-process broadcast: the latest state of each contest (and how many phones each team has
joined), and a condition every held stream waits on. One process serves a hall (``quizapp serve``:
waitress, one process, many threads), so a write publishes here after its commit and every screen
and phone stream of that process wakes.

A change wakes every stream at once (34 in a hall of 8 teams × 4 phones): each view is rendered
once per change and shared by the streams that show it (``render``), so a broadcast costs a few
renders, not one per client, and the buzz being recorded next is not kept waiting for the GIL.

Several processes (gunicorn) would each have their own hub: README says what a bigger event needs
(one process per contest, or a cross-process channel such as PostgreSQL LISTEN/NOTIFY or Redis)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple


class Snapshot(NamedTuple):
    version: int  # grows with every change of the contest's state or of its phones
    seq: int
    setup: dict
    state: dict
    devices: dict[int, int]  # team id → phones joined


class Hub:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._latest: dict[str, tuple[int, dict, dict]] = {}  # join code → (seq, setup, state)
        self._devices: dict[str, dict[int, int]] = {}  # join code → phones joined per team
        self._version: dict[str, int] = {}
        self._rendered: dict[str, tuple[int, dict]] = {}  # join code → (version, {view: text})
        self._render_lock = threading.Lock()

    def publish(self, code: str, setup: dict, state: dict) -> None:
        with self._changed:
            held = self._latest.get(code)
            if held is None or state["seq"] >= held[0]:
                self._latest[code] = (state["seq"], setup, state)
                self._version[code] = self._version.get(code, 0) + 1
                self._changed.notify_all()

    def publish_devices(self, code: str, devices: dict[int, int]) -> None:
        """The phones joined per team (the host console shows them as they join)."""
        with self._changed:
            if self._devices.get(code) != devices:
                self._devices[code] = dict(devices)
                self._version[code] = self._version.get(code, 0) + 1
                self._changed.notify_all()

    def latest(self, code: str) -> tuple[int, dict, dict] | None:
        with self._changed:
            return self._latest.get(code)

    def snapshot(self, code: str) -> Snapshot | None:
        with self._changed:
            return self._snapshot(code)

    def _snapshot(self, code: str) -> Snapshot | None:
        held = self._latest.get(code)
        if held is None:
            return None
        return Snapshot(self._version[code], held[0], held[1], held[2], self._devices.get(code, {}))

    def wait(self, code: str, after_version: int, timeout: float) -> Snapshot | None:
        """The contest's snapshot once its version passes ``after_version``; None on timeout."""
        with self._changed:
            self._changed.wait_for(lambda: self._version.get(code, 0) > after_version, timeout=timeout)
            if self._version.get(code, 0) > after_version:
                return self._snapshot(code)
            return None

    def render(self, code: str, version: int, view: tuple, build: Callable[[], str]) -> str:
        """``build()`` once per (contest version, view); every stream showing that view shares it."""
        with self._render_lock:
            held = self._rendered.get(code)
            if held is not None and held[0] == version and view in held[1]:
                return held[1][view]
        text = build()
        with self._render_lock:
            held = self._rendered.get(code)
            if held is None or held[0] < version:
                self._rendered[code] = held = (version, {})
            if held[0] == version:
                held[1][view] = text
        return text


hub = Hub()
