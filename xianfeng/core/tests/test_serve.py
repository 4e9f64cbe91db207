"""`xianfeng serve --with-worker` as a real process tree: it answers, and one SIGTERM stops every process it started
(granian's master and workers, the background worker, the MQTT subscriber)."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import psutil
import pytest
from django.core.management import CommandError, call_command
from django.db import connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(tmp_path) -> str:
    """A migrated database the server's processes can open: a copy of the SQLite test database in a file, or the
    PostgreSQL test database itself."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(tmp_path / "serve.sqlite3")
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_server_its_workers_the_worker_and_the_subscriber(tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(tmp_path), "XIANFENG_VAR": str(tmp_path / "var"),
           "CARE_MQTT_TOPIC": f"xf-test/{uuid.uuid4().hex[:10]}/+/events", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "serve", "--port", str(port), "--workers", "2",
                               "--with-worker", "--no-collectstatic", "--grace", "20"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    started: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("serving on") for line in lines):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            assert response.status == 200
        # granian's master and its 2 workers, `xianfeng worker`, `xianfeng mqtt`
        while len(started := [p.pid for p in psutil.Process(server.pid).children(recursive=True)]) < 5:
            assert time.monotonic() < deadline, (started, "".join(lines))
            time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, "".join(lines)
    finally:
        if server.poll() is None:
            server.kill()
    time.sleep(0.5)  # orphaned zombies are reaped by init
    assert [pid for pid in started if alive(pid)] == []
    reader.join(5)
    assert "stopped" in "".join(lines)


def test_a_bad_port_is_refused_before_anything_starts():
    with pytest.raises(CommandError, match="not a TCP port"):
        call_command("serve", "--port", "70000", "--no-collectstatic")
