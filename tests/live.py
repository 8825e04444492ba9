"""Real processes for the deployment, fault and backup tests (and the load benchmarks): an HTTP
client that signs in like a browser, `quizapp` commands and long-running processes, gunicorn
serving the app, and a throwaway PostgreSQL cluster of a test's own."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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


def wait_until_serving(base: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/login", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    raise AssertionError(f"server did not start:\n{log.read_text()}")


class Browser:
    """A minimal cookie-keeping HTTP client that signs in like the login form does."""

    def __init__(self, base: str, timeout: float = 30, jar: CookieJar | None = None):
        """``jar``: another Browser's cookies (the same person on another app server)."""
        self.base, self.timeout = base, timeout
        self.jar = jar if jar is not None else CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None

    def request(self, method: str, path: str, body=None, form=None):
        """(status, text); a connection cut raises OSError (URLError is one) or HTTPException."""
        data, headers = None, {"X-CSRFToken": self.token or ""}
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def json(self, method: str, path: str, body=None, expect: int = 200):
        status, text = self.request(method, path, body)
        assert status == expect, (status, text)
        return json.loads(text)

    def post_login(self, username: str, password: str) -> tuple[int, str]:
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return self.request(
            "POST", "/login", form={"username": username, "password": password, "csrf_token": token}
        )

    def sign_in(self, username: str, password: str) -> None:
        status, page = self.post_login(username, password)
        assert status == 200 and 'name="password"' not in page, (status, page[:300])  # a home, not the form
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def child_pids(parent: int) -> set[int]:
    children = set()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == parent:
            children.add(int(Path(stat).parent.name))
    return children


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
    """A long-running `quizapp` command (the scheduler) with its output in a log file."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.args, self.env, self.log_path = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it has not ended within 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Gunicorn:
    """`gunicorn -w N 'quizapp.wsgi:app'`, configured by QUIZAPP_* variables as in production."""

    def __init__(
        self, database_url: str, workdir: Path, workers: int = 2, threads: int = 1, env: dict | None = None
    ):
        """``env``: more QUIZAPP_* settings (a shared QUIZAPP_REDIS_URL, the secret key...)."""
        self.database_url, self.workdir, self.workers, self.threads = database_url, workdir, workers, threads
        self.extra_env = env or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log = workdir / f"gunicorn-{self.port}.log"

    def __enter__(self) -> Gunicorn:
        env = os.environ | {
            "QUIZAPP_DATABASE_URL": self.database_url,
            "QUIZAPP_SECRET_KEY": "live-test-secret",
            "QUIZAPP_INSTANCE_PATH": str(self.workdir / "instance"),
        }
        env.pop("QUIZAPP_REDIS_URL", None)  # unless given: sign-in counters per process, tests sign in a lot
        env |= self.extra_env
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "--threads", str(self.threads)]
                + ["-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5", "quizapp.wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.base, self.process, self.log)
        self.wait_for_workers()
        return self

    def __exit__(self, *exc) -> None:
        terminate(self.process)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        return child_pids(self.process.pid)

    def wait_for_workers(self, without: set[int] = frozenset(), seconds: float = 30) -> set[int]:
        """The worker pids, once there are N of them and none is in ``without``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers and not pids & without:
                return pids
            time.sleep(0.1)
        raise AssertionError(f"gunicorn has workers {self.worker_pids()}:\n{self.log.read_text()}")


def postgres_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of one test's own (initdb, trust auth, 127.0.0.1:free port), which the test
    may restart or crash without disturbing anyone. As root, the server runs as the ``postgres`` user."""

    def __init__(self, initdb: str, pg_ctl: str):
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="quizapp-pg-"))  # not under pytest's private tmp
        self.data, self.logfile = self.directory / "data", self.directory / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")

    def _ctl(self, *arguments: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on"
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-l", str(self.logfile), "-o", options]
            + ["-w", "-t", "60", *arguments],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        subprocess.run(
            [*self.as_user, self.initdb, "-D", str(self.data), "--auth=trust", "-U", "postgres"]
            + ["-E", "UTF8", "--no-locale"],
            check=True,
            capture_output=True,
        )
        self._ctl("start")

    def restart(self, mode: str = "immediate") -> None:
        """``immediate``: the server dies without a checkpoint and recovers from its WAL (a crash)."""
        self._ctl("restart", "-m", mode)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    def server_log(self) -> str:
        return self.logfile.read_text() if self.logfile.exists() else ""
