import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site: granian (WSGI, N workers) or, with --dev, Django's runserver. --with-worker also runs the background worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--dev", action="store_true", help="Django's autoreloading development server")
        parser.add_argument("--with-worker", action="store_true", help="start `xianfeng worker` beside the server")

    def handle(self, *args, host, port, workers, dev, with_worker, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        children: list[subprocess.Popen] = []
        if with_worker:
            for command in ("worker", "mqtt"):  # the background worker; the MQTT subscriber for call devices
                if self._has_command(command):
                    children.append(subprocess.Popen([sys.executable, "-m", "xianfeng.cli", command]))
                    self.stdout.write(f"started `xianfeng {command}`")
        self.stdout.write(f"serving on http://{host}:{port}/")
        if dev:
            cmd = [sys.executable, "-m", "xianfeng.cli", "runserver", f"{host}:{port}"]
        else:
            cmd = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", host, "--port", str(port),
                   "--workers", str(workers), "--blocking-threads", os.environ.get("WEB_THREADS", "8"),
                   "--no-ws", "xianfeng.wsgi:application"]
            # Bounded threads per worker: each keeps a database connection (CONN_MAX_AGE), and granian's default
            # would open hundreds under a burst of slow requests, past PostgreSQL's max_connections (a 500).
        server = subprocess.Popen(cmd)
        try:
            server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            server.wait()
        finally:
            for child in children:
                child.terminate()
                child.wait(timeout=10)

    @staticmethod
    def _has_command(name: str) -> bool:
        from django.core.management import get_commands

        return name in get_commands()
