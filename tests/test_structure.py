"""The house rules of issue 15 that a test can hold: views end their transaction one way, modules
stay small, the garbage-collector freeze belongs to the server process, not the app factory."""

from __future__ import annotations

import ast
import gc
import os
import subprocess
import sys
from pathlib import Path

from quizapp import create_app

from .conftest import ROOT

PACKAGE = ROOT / "quizapp"
BLUEPRINTS = ["admin", "api", "auth", "battles", "certificates", "learn", "marking", "rankings", "rounds"]
LONG_MODULE = 600


def test_views_end_their_transaction_only_through_web_transaction():
    """``web.transaction`` (and ``web.commits``, built on it) is the one way a view commits or
    rolls back: no blueprint module touches the session's transaction itself."""
    offenders = []
    for name in BLUEPRINTS:
        for path in (PACKAGE / name).glob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_no_module_is_long_unless_its_docstring_says_why():
    long_ones = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text("utf-8").count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""
        if lines > LONG_MODULE and "long because" not in docstring:
            long_ones.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert long_ones == []


def test_the_app_factory_does_not_freeze_the_collector(app_config):
    gc.unfreeze()
    create_app(app_config | {"TESTING": False})
    assert gc.get_freeze_count() == 0


def test_a_server_process_freezes_what_it_loaded(tmp_path):
    environment = os.environ | {"QUIZAPP_INSTANCE_PATH": str(tmp_path)}
    environment.pop("QUIZAPP_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "import gc, quizapp.wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 10_000
    assert not list(Path(ROOT / "instance").glob("quizapp.sqlite3-*")), "the test wrote into the repo"


# What a server process leaves to the moment it writes a file or draws a certificate: openpyxl
# (with numpy, lxml and PIL behind it), reportlab and rapidfuzz were about 45 MB of each worker.
HEAVY_ON_DEMAND = ("openpyxl", "numpy", "lxml", "PIL", "reportlab", "rapidfuzz")


def test_a_server_process_loads_the_heavy_libraries_only_when_used(tmp_path):
    environment = os.environ | {"QUIZAPP_INSTANCE_PATH": str(tmp_path)}
    environment.pop("QUIZAPP_DATABASE_URL", None)
    probe = (
        "import sys, quizapp.wsgi\n"
        f"print(' '.join(m for m in {HEAVY_ON_DEMAND!r} if m in sys.modules))\n"
        "from quizapp.services import exports\n"
        "exports.save(exports.workbook())\n"
        "print('openpyxl' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded, used = done.stdout.splitlines()
    assert loaded == "", f"loaded at start: {loaded}"
    assert used == "True"
