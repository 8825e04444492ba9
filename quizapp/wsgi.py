"""The app as a server process runs it: ``gunicorn 'quizapp.wsgi:app'`` (each worker imports this
module once); ``quizapp serve`` prepares its own app the same way before waitress starts."""

from __future__ import annotations

from . import create_app
from .serving import prepare_server_process

app = create_app()
prepare_server_process(app)
