"""Real processes for the deployment and fault tests: free ports, `quizapp`/gunicorn processes that
are waited for and always stopped, and a cookie-keeping HTTP client that signs in like the form."""

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
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quizapp(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    """Run one `quizapp` command to completion, as an operator would."""
    done = subprocess.run(
        [sys.executable, "-m", "quizapp", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


class Process:
    """A long-running process with its output in a log file; ``ready_url`` is polled until it answers."""

    def __init__(self, args: list[str], env: dict, log: Path, ready_url: str | None = None):
        self.args, self.env, self.log_path, self.ready_url = args, env, log, ready_url
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Process:
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while self.ready_url and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.ready_url, timeout=1).close()
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert self.process.poll() is None, self.output()
                time.sleep(0.2)
        assert not self.ready_url, f"{self.args} did not answer in {timeout} s:\n{self.output()}"
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)  # the whole group: gunicorn's workers too
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


def gunicorn(port: int, env: dict, log: Path, workers: int = 2, threads: int = 1) -> Process:
    """`gunicorn 'quizapp:create_app()'` as README deploys it (gthread workers when threads > 1)."""
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads)]
    command += ["-b", f"127.0.0.1:{port}", "quizapp:create_app()"]
    return Process(command, env, log, ready_url=f"http://127.0.0.1:{port}/login")


class Browser:
    """A minimal cookie-keeping HTTP client that signs in like the login form does."""

    def __init__(self, base: str, jar: CookieJar | None = None):
        self.base = base
        self.jar = jar if jar is not None else CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None

    def request(self, method: str, path: str, body=None, form=None, timeout: float = 10):
        data, headers = None, {"X-CSRFToken": self.token or ""}
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def json(self, method: str, path: str, body=None) -> tuple[int, dict]:
        status, text = self.request(method, path, body=body)
        return status, json.loads(text) if text.startswith("{") else {}

    def post_login(self, username: str, password: str) -> tuple[int, str]:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return self.request(
            "POST", "/login", form={"username": username, "password": password, "csrf_token": token}
        )

    def sign_in(self, username: str, password: str) -> None:
        status, page = self.post_login(username, password)
        assert status == 200 and "您好" in page, page[:500]
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
