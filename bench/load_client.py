"""A small HTTP load generator for the load tests: P client processes × T keep-alive connections (threads) each,
GETting one URL for a fixed time, recording every response's latency. Standard library only (http.client), so
the client's own cost per request is small and the same in every run.

The server under test is granian (WSGI, 2 workers) serving `bench.pledges_board_wsgi` — the project's URLs plus
the plain hello-world view at /bench-hello/ (bench/pledges_board_urls.py), so a page's requests/s can be set
against hello-world's from the same server in the same run.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from bench.common import percentile

WSGI_APP = "bench.pledges_board_wsgi:application"
HELLO = "/bench-hello/"


@dataclass
class Result:
    path: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    first_error: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 95)


def start_server(database_url: str, port: int, workers: int = 2) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="xianfeng.settings", DEBUG="0")
    server = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(workers),
                               "--blocking-threads", "8", "--host", "127.0.0.1", "--port", str(port), "--no-ws", WSGI_APP], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"granian exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("granian did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """One request (warm-up and checks): the status and the Location header (for a redirect)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location", "")
    finally:
        conn.close()


def _client(port: int, path: str, headers: dict[str, str], seconds: float, threads: int, out) -> None:
    latencies: list[float] = []
    errors = [0, ""]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def loop() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                status = f"{type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            if status == 200:
                mine.append((time.perf_counter() - started) * 1000)
            else:
                with lock:
                    errors[0] += 1
                    errors[1] = errors[1] or str(status)
        conn.close()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, errors[0], errors[1]))


def measure(port: int, path: str, *, headers: dict[str, str] | None = None, seconds: float = 8.0,
            processes: int = 4, threads: int = 8) -> Result:
    """GET `path` from processes × threads keep-alive connections for `seconds`; every latency is kept."""
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client, args=(port, path, headers or {}, seconds, threads, queue))
             for _ in range(processes)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    parts = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    latencies = [ms for part in parts for ms in part[0]]
    errors = sum(part[1] for part in parts)
    first = next((part[2] for part in parts if part[2]), "")
    return Result(path, len(latencies), elapsed, latencies, errors, first)
