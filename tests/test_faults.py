"""Fault injection: the server process dies in the middle of an attempt; nothing saved is lost."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from .conftest import ROOT

PASSWORD = "Demo12345"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`quizapp serve --demo` in its own process, as a newcomer runs it."""

    def __init__(self, instance: Path, port: int):
        self.instance, self.port, self.process = instance, port, None

    def start(self) -> None:
        env = os.environ | {
            "QUIZAPP_INSTANCE_PATH": str(self.instance),
            "QUIZAPP_DEMO_PASSWORD": PASSWORD,
            "QUIZAPP_ADMIN_PASSWORD": "Admin1234",
        }
        env.pop("QUIZAPP_DATABASE_URL", None)
        self.log = open(self.instance / f"server-{time.time_ns()}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quizapp", "serve", "--demo", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert self.process.poll() is None, (self.instance / self.log.name).read_text()
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)  # no clean shutdown, no flush, no goodbye
        self.process.wait(timeout=10)
        self.log.close()


class Browser:
    """A minimal cookie-keeping HTTP client that signs in like the login form does."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = None

    def request(self, method: str, path: str, body=None, form=None):
        data, headers = None, {"X-CSRFToken": self.token or ""}
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def sign_in(self, username: str) -> None:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, page = self.request(
            "POST", "/login", form={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert status == 200 and "您好" in page
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_killing_the_server_mid_attempt_loses_no_saved_answer(tmp_path, figures):
    instance = tmp_path / "instance"
    instance.mkdir()
    server = Server(instance, free_port())
    server.start()
    try:
        browser = Browser(f"http://127.0.0.1:{server.port}")
        browser.sign_in("staff07")
        _, listing = browser.request("GET", "/api/v1/rounds")
        monthly = next(
            r for r in json.loads(listing)["rounds"] if r["kind"] == "monthly" and r["state"] == "open"
        )
        status, body = browser.request("POST", f"/api/v1/rounds/{monthly['id']}/attempts")
        assert status == 201
        attempt = json.loads(body)
        acknowledged = {}
        for question in attempt["questions"][:12]:
            answer = {
                "single": "B",
                "judge": "false",
                "multiple": ["A", "B"],
                "fill": ["答案"] * question["blanks"],
            }[question["type"]]
            status, _ = browser.request(
                "PUT", f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}", {"answer": answer}
            )
            assert status == 200
            acknowledged[str(question["id"])] = answer
        server.kill()
        server.start()  # the same instance folder, as after a crash and a restart
        status, body = browser.request("GET", f"/api/v1/attempts/{attempt['id']}")
        assert status == 200  # the session survives the restart too (key in the instance folder)
        resumed = json.loads(body)
        assert resumed["status"] == "in_progress"
        assert {qid: saved["answer"] for qid, saved in resumed["answers"].items()} == acknowledged
        assert [q["id"] for q in resumed["questions"]] == [q["id"] for q in attempt["questions"]]
        figures.count("faults: kill -9 serve mid-attempt", "answers acknowledged", len(acknowledged))
        figures.count(
            "faults: kill -9 serve mid-attempt",
            "answers lost",
            len(set(acknowledged) - set(resumed["answers"])),
        )
    finally:
        if server.process and server.process.poll() is None:
            server.kill()


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
