"""What a server process does once its app is built, before it serves (``quizapp.wsgi`` for
gunicorn, ``quizapp serve`` for waitress) — never tests or commands: keep what is loaded out of the
collector, and start the paper warmer, a daemon thread that every ``PAPER_WARM_SECONDS`` makes the
pools of drawn rounds open now or opening soon ready in this process (``papers.warm_coming_rounds``).
The warmer only reads, so one per process is harmless whatever else runs."""

from __future__ import annotations

import gc
import logging
import threading

from flask import Flask

from . import clock
from .extensions import db
from .services.rounds import papers

log = logging.getLogger(__name__)


def prepare_server_process(app: Flask) -> None:
    freeze_loaded_objects()
    start_paper_warmer(app)


def freeze_loaded_objects() -> None:
    """What a server process has loaded by the time it serves lives as long as the process: keep it
    out of the collector's full passes, which otherwise walked it all (about 80 ms) every dozen or so
    busy pages."""
    gc.collect()
    gc.freeze()


def start_paper_warmer(app: Flask) -> threading.Thread | None:
    seconds = app.config["PAPER_WARM_SECONDS"]
    if not seconds:
        return None
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(seconds):
            warm_once(app)

    warm_once(app)
    thread = threading.Thread(target=run, name="paper-warmer", daemon=True)
    thread.start()
    return thread


def warm_once(app: Flask) -> int:
    """One pass; a failure (the database restarting, say) is logged and the next pass tries again."""
    with app.app_context():
        try:
            return papers.warm_coming_rounds(clock.utcnow())
        except Exception:  # noqa: BLE001 — a warmer must outlive any one failed pass
            log.exception("paper warmer: pass failed")
            return 0
        finally:
            db.session.remove()
