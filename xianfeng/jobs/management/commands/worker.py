import importlib
import logging
import signal
import time

from django.core.management.base import BaseCommand

from xianfeng.jobs import registry
from xianfeng.jobs.worker import Worker


class Command(BaseCommand):
    help = ("Run the background worker: claim due jobs from the database and run them until SIGTERM. "
            "Several workers may run at once on PostgreSQL.")
    # `xianfeng check` (CI, deploys) checks the project; a worker restarting in production should not refuse to
    # run the queue over a warning, and starts faster without it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=None, help="seconds to sleep when nothing is due")
        parser.add_argument("--stale-after", type=float, default=None,
                            help="seconds without a heartbeat after which a running job is handed back")
        parser.add_argument("--max-jobs", type=int, default=None, help="stop after running this many jobs")
        parser.add_argument("--exit-when-idle", action="store_true", help="stop as soon as nothing is due")
        parser.add_argument("--no-periodic", action="store_true", help="do not create rows for periodic jobs")
        parser.add_argument("--worker-id", default=None, help="name recorded on the jobs this worker runs")
        parser.add_argument("--import", dest="imports", action="append", default=[],
                            help="also import this module (it registers more jobs); may be repeated")

    def handle(self, *args, poll, stale_after, max_jobs, exit_when_idle, no_periodic, worker_id, imports, **options):
        for module in imports:
            importlib.import_module(module)
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO)
        worker = Worker(worker_id=worker_id, poll=poll, stale_after=stale_after, max_jobs=max_jobs,
                        exit_when_idle=exit_when_idle, sync_periodic=not no_periodic)
        previous = {sig: signal.signal(sig, worker.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        n_periodic = len(registry.periodic_specs())
        own = "".join(f", {', '.join(sorted(names))} {seconds:g} s"
                      for seconds, names in sorted(registry.stale_thresholds().items()))
        self.stdout.write(f"worker {worker.worker_id} started: {len(registry.REGISTRY)} job kinds "
                          f"({n_periodic} periodic), poll {worker.poll:g} s, stale after {worker.stale_after:g} s{own}")
        self.stdout.flush()
        started = time.monotonic()
        try:
            stats = worker.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"worker {worker.worker_id} stopped: ran {stats.ran:,} jobs ({stats.failed:,} failed, "
                          f"{stats.swept:,} handed back by the sweeper) in {time.monotonic() - started:.1f} s")
