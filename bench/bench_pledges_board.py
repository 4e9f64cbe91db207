"""The public pledge board of a 300-pledge organisation against a plain Django hello-world, on the same granian server
(WSGI, 2 workers) in the same run.

A fresh SQLite file gets the test county and one branch with 300 published pledges (through the services). Load: 4
client processes × 8 keep-alive connections for 10 s per URL, on this same machine (so client and server share the
2 cores; the ratio, not the absolute rate, is the figure). Goal: board requests/s ≥ 0.4 × hello-world's.

Both URLs go through the same server, settings and middleware. The board is requested as a phone would on its first
visit: no cookie and no If-None-Match, so every answer is the full 30-pledge page (checked below), served from the
board's page cache after a database lookup of the organisation and of the board's version (two queries a request).
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

from bench.common import BENCH_DIR, fresh_sqlite, setup_django

DB = BENCH_DIR / "pledges_board.sqlite3"
PORT = 8765
SECONDS = 10.0


def build() -> int:
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from xianfeng.core.testing import build_county, make_member, make_user
    from xianfeng.orgs.models import Role
    from xianfeng.pledges import services
    from xianfeng.pledges.tests.factories import make_round

    world = build_county()
    pledge_round = make_round(world)
    due = timezone.localdate()
    for i in range(300):
        member = make_member(f"党员{i:03d}", world.hebin_branch)
        user = make_user(f"bm{i}", Role.Kind.MEMBER, world.hebin_branch, person=member.person)
        pledge = services.pledge_create(round=pledge_round, member=member, actor=user, items=[
            {"kind": "service", "text": f"年底前为河滨社区{i % 12 + 1}号楼的{i % 9 + 2}户独居老人送米面油", "due_date": due},
            {"kind": "post", "text": f"每周{'一二三四五六'[i % 6]}到社区服务站值班{i % 3 + 1}小时", "due_date": due}])
        services.pledge_submit(pledge=pledge, actor=user)
        services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
        services.pledge_publish(pledge=pledge, actor=world.hebin_secretary)
    return world.hebin_branch.pk


def client(path: str, seconds: float, out) -> None:
    done = [0]
    stop = time.perf_counter() + seconds

    def loop():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        while time.perf_counter() < stop:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")
            done[0] += 1
        conn.close()

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(done[0])


def rate(path: str) -> float:
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=client, args=(path, SECONDS, queue)) for _ in range(4)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    return sum(queue.get() for _ in procs) / elapsed


def wait_for_port() -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("granian did not start")


def main() -> None:
    url = fresh_sqlite(DB)
    setup_django(url)
    org_id = build()
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="xianfeng.settings", DEBUG="0")
    server = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "2", "--host",
                               "127.0.0.1", "--port", str(PORT), "bench.pledges_board_wsgi:application"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port()
        board = f"/pledges/board/{org_id}/"
        for path in ("/bench-hello/", board):  # warm up
            conn = http.client.HTTPConnection("127.0.0.1", PORT)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read().decode()
            assert response.status == 200
        if body.count('data-testid="board-pledge"') != 30 or "300" not in body:
            raise SystemExit("the board page does not show 30 of the 300 pledges")
        hello = rate("/bench-hello/")
        board_rate = rate(board)
        ratio = board_rate / hello
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"hello-world: {hello:,.0f} req/s; board of a 300-pledge organisation (30 per page, {len(body.encode()):,} bytes): "
              f"{board_rate:,.0f} req/s; ratio {ratio:.2f}; goal ≥ 0.4 — {'meets goal' if ratio >= 0.4 else 'MISSES goal'}"
              f"; load average {load}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
