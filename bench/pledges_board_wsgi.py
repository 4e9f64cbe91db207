"""WSGI entry for bench_pledges_board: the project's URLs plus a plain hello-world view at /bench-hello/."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xianfeng.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
settings.ROOT_URLCONF = "bench.pledges_board_urls"
