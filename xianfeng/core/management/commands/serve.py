"""`xianfeng serve`: the web server (granian, or runserver with --dev) and, with --with-worker, the background worker
and the MQTT subscriber beside it.

Each process it starts runs in a process group of its own, so a SIGTERM or SIGINT sent to `serve` (systemd, Ctrl-C,
`kill`) is passed on to every group — granian's workers included — and `serve` exits once they all have; a group
still running after --grace seconds is killed. If the web server exits by itself, the others are stopped too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _die_with_parent() -> None:  # pragma: no cover — runs in the child between fork and exec
    """Linux: the child gets SIGTERM if `serve` itself is killed outright (SIGKILL), instead of running on orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Command(BaseCommand):
    help = ("Serve the site: granian (WSGI, N workers) or, with --dev, Django's runserver. --with-worker also runs the "
            "background worker and the MQTT subscriber. SIGTERM/SIGINT stop everything it started.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--dev", action="store_true", help="Django's autoreloading development server")
        parser.add_argument("--with-worker", action="store_true",
                            help="start `xianfeng worker` and `xianfeng mqtt` beside the server")
        parser.add_argument("--grace", type=float, default=30.0,
                            help="seconds the processes get to stop after SIGTERM before they are killed")
        parser.add_argument("--no-collectstatic", action="store_true", help="serve the static files already collected")

    def handle(self, *args, host, port, workers, dev, with_worker, grace, no_collectstatic, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port}: not a TCP port")
        if workers < 1:
            raise CommandError(f"--workers {workers}: at least 1")
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        self._signal: int | None = None
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        children: dict[str, subprocess.Popen] = {}
        try:
            if with_worker:
                for command in ("worker", "mqtt"):  # the background worker; the MQTT subscriber for call devices
                    if self._has_command(command):
                        children[command] = self._start([sys.executable, "-m", "xianfeng.cli", command])
                        self.stdout.write(f"started `xianfeng {command}` (pid {children[command].pid})")
            if dev:
                cmd = [sys.executable, "-m", "xianfeng.cli", "runserver", f"{host}:{port}"]
            else:
                # Bounded threads per worker: each keeps a database connection (CONN_MAX_AGE), and granian's default
                # would open hundreds under a burst of slow requests, past PostgreSQL's max_connections (a 500).
                cmd = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host, "--port", str(port),
                       "--workers", str(workers), "--blocking-threads", os.environ.get("WEB_THREADS", "8"),
                       "--no-ws", "xianfeng.wsgi:application"]
            server = children["server"] = self._start(cmd)
            self.stdout.flush()
            announced = False
            while self._signal is None and server.poll() is None:
                if not announced and self._answers(host, port):
                    self.stdout.write(f"serving on http://{host}:{port}/ (SIGTERM or Ctrl-C stops it)")
                    self.stdout.flush()
                    announced = True
                for name, child in list(children.items()):
                    if name != "server" and child.poll() is not None:
                        self.stderr.write(f"`xianfeng {name}` exited with status {child.returncode}")
                        del children[name]
                time.sleep(0.2)
            code = server.returncode if self._signal is None else 0
        finally:
            self._stop_all(children, self._signal or signal.SIGTERM, grace)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("stopped")
        if code:
            raise CommandError(f"the web server exited with status {code}")

    def _on_signal(self, signum, frame) -> None:
        self._signal = signum

    @staticmethod
    def _start(cmd: list[str]) -> subprocess.Popen:
        """Start `cmd` as the leader of a new process group (its own children join that group)."""
        hook = _die_with_parent if sys.platform.startswith("linux") else None  # prctl only: takes no locks
        return subprocess.Popen(cmd, start_new_session=True, preexec_fn=hook)

    def _stop_all(self, children: dict[str, subprocess.Popen], signum: int, grace: float) -> None:
        """Send `signum` to every child's process group, wait up to `grace` seconds, then SIGKILL what is left."""
        for child in children.values():
            _signal_group(child.pid, signum)
        deadline = time.monotonic() + grace
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} (pid {child.pid}) did not stop within {grace:g} s; killing it")
                _signal_group(child.pid, signal.SIGKILL)
                child.wait()
        # The leaders have exited; a straggler left in a group (a granian worker) gets the same signal, then SIGKILL.
        for child in children.values():
            if _group_alive(child.pid):
                _signal_group(child.pid, signum)
        while any(_group_alive(c.pid) for c in children.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for child in children.values():
            _signal_group(child.pid, signal.SIGKILL)

    @staticmethod
    def _answers(host: str, port: int) -> bool:
        try:
            socket.create_connection((host if host not in ("0.0.0.0", "::") else "127.0.0.1", port),  # noqa: S104
                                     timeout=0.5).close()
            return True
        except OSError:
            return False

    @staticmethod
    def _has_command(name: str) -> bool:
        from django.core.management import get_commands

        return name in get_commands()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
