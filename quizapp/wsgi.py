"""The app as a server process runs it: ``gunicorn 'quizapp.wsgi:app'`` (each worker imports this
module once); ``quizapp serve`` does the same before waitress starts."""

from __future__ import annotations

import gc

from . import create_app


def freeze_loaded_objects() -> None:
    """What a server process has loaded by the time it serves lives as long as the process: keep it
    out of the collector's full passes, which otherwise walked it all (about 80 ms) every dozen or so
    busy pages."""
    gc.collect()
    gc.freeze()


app = create_app()
freeze_loaded_objects()
