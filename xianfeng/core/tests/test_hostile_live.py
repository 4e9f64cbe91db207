"""Hostile uploads against a real server (`xianfeng serve`: granian, one worker process): every file gets a clear
answer, nothing changes in the database, the server keeps answering, and its memory stays bounded throughout."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import psutil
import pytest
from django.db import connection

from xianfeng.core.testing import PASSWORD, build_county
from xianfeng.core.tests import hostile
from xianfeng.core.tests.test_serve import database_url, free_port

# `serve`, granian's master and its worker together hold ~380 MB once signed in; reading the dimension trick the
# old way asked for 512 GiB (the worker died), and a million empty rows took 800 MB.
RSS_LIMIT_MB = 600


class Browser:
    """A cookie-keeping client that signs in and posts forms with their CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=120) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def csrf(self, path: str) -> str:
        status, body = self.request(path)
        assert status == 200, (path, status)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)

    def sign_in(self, username: str) -> None:
        token = self.csrf("/accounts/login/")
        data = urllib.parse.urlencode({"username": username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token}).encode()
        status, body = self.request("/accounts/login/", data)
        assert status == 302, body[:500]

    def upload(self, path: str, filename: str, content: bytes) -> tuple[int, str]:
        token = self.csrf(path)
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.request(path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class RssSampler(threading.Thread):
    """The server's whole process tree's resident memory, sampled every 50 ms; `peak_mb` is the highest seen."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            try:
                for proc in [self.root, *self.root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 1024 / 1024)
            self.stop.wait(0.05)


def counts(tmp_path) -> tuple[int, ...]:
    tables = ("orgs_person", "orgs_member", "orgs_membership")
    if connection.vendor == "sqlite":
        db = sqlite3.connect(tmp_path / "serve.sqlite3")
        try:
            return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)  # noqa: S608
        finally:
            db.close()
    with connection.cursor() as cursor:
        found = []
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 — fixed names
            found.append(cursor.fetchone()[0])
        return tuple(found)


@pytest.mark.django_db(transaction=True)
def test_hostile_uploads_to_a_running_server(tmp_path):
    world = build_county()
    # the suite hashes with MD5 for speed; the server knows only the production hashers
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    type(world.users["hebin_secretary"]).objects.filter(username="hebin_secretary").update(
        password=PBKDF2PasswordHasher().encode(PASSWORD, "hostile-live-salt", iterations=1000))
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url(tmp_path), "XIANFENG_VAR": str(tmp_path / "var"),
           "PYTHONUNBUFFERED": "1", "WEB_THREADS": "2"}
    server = subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "serve", "--port", str(port), "--workers", "1",
                               "--no-collectstatic", "--grace", "10"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True).start()
    sampler = None
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("serving on") for line in lines):
            assert server.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.sign_in("hebin_secretary")
        before = counts(tmp_path)
        sampler = RssSampler(server.pid)
        sampler.start()
        time.sleep(0.3)
        baseline = sampler.peak_mb
        peaks = {}
        files = [(name, *hostile.HOSTILE_ROSTERS[name]) for name in sorted(hostile.HOSTILE_ROSTERS)]
        files.append(("oversize", "big.csv", lambda: hostile.oversize(11 * 1024 * 1024)))
        answers = {}
        for name, filename, builder in files:
            status, body = browser.upload("/orgs/roster/import/", filename, builder())
            answers[name] = status
            if name == "formulas":  # a valid workbook: stored and handed to the worker, which reports the formula
                assert status == 302, body[:500]
            else:
                assert status == 400, (name, status, body[:300])
                assert 'data-testid="file-errors"' in body or "alert" in body, (name, body[:500])
            assert browser.request("/healthz")[0] == 200, name  # still answering after each one
            peaks[name] = round(sampler.peak_mb)
        assert counts(tmp_path) == before
        assert server.poll() is None, "".join(lines)
        sampler.stop.set()
        sampler.join(2)
        assert sampler.peak_mb < RSS_LIMIT_MB, (sampler.peak_mb, peaks)
        assert sampler.peak_mb - baseline < 100, (baseline, peaks)  # measured: +12 MB over all of them
        print(f"server process tree RSS {baseline:.0f} MB signed in, peak {sampler.peak_mb:.0f} MB over {len(files)} "
              f"hostile uploads; running peak after each: {peaks}")
    finally:
        if sampler is not None:
            sampler.stop.set()
        if server.poll() is None:
            os.killpg(server.pid, 15)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
