"""Shared set-up for the benchmarks: an app bound to the database named on the command line."""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager

from quizapp import create_app


def app_for(database_url: str | None):
    os.environ.setdefault("QUIZAPP_INSTANCE_PATH", tempfile.mkdtemp(prefix="quizapp-bench-"))
    config = {"SECRET_KEY": "benchmark", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    return create_app(config)


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = round(time.perf_counter() - start, 3)
    print(f"  {label:<44} {results[label]:>9.3f} s", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
