"""Two real worker processes against PostgreSQL and the fake providers: each notification goes out once per channel,
even when every delivery's job is queued twice (a retry racing a rescue)."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from xianfeng.jobs.services import job_schedule
from xianfeng.notify import fakes
from xianfeng.notify.models import Delivery, GroupPost, GroupRobot
from xianfeng.notify.services import DELIVER_JOB, notify
from xianfeng.orgs.models import Person, Role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(settings.BASE_DIR).parent


def test_two_workers_send_each_notification_once_per_channel(postgres_only, world, providers):
    from xianfeng.jobs.tests.test_worker_processes import database_url

    users = []
    for i in range(40):
        person = Person.objects.create(name=f"成员{i}", gender="M", phone=f"1390000{i:04d}")
        user = type(world.member).objects.create(username=f"pg{i}", person=person, email=f"pg{i}@example.org")
        Role.objects.create(user=user, kind="member", org=world.hebin_branch)
        users.append(user)
    GroupRobot.objects.create(org=world.hebin, name="河滨群", platform=GroupRobot.Platform.DINGTALK,
                              webhook=f"{providers.url}/robot/send?access_token={providers.dingtalk_token}",
                              secret=providers.dingtalk_secret, kinds=["grids.dispatched"])
    for user in users:
        notify(to=user, kind="grids.dispatched", subject="新派诉求", link="/grids/cases/1/", key="case:1",
               default_channels=["in_app", "sms", "email"])
    for d in Delivery.objects.filter(status=Delivery.Status.PENDING):  # the same delivery queued a second time
        job_schedule(name=DELIVER_JOB, args={"delivery_id": d.pk}, due_at=timezone.now(), key=f"again:{d.pk}")
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "xianfeng.settings",
           "NOTIFY_SMS_GATEWAY": "xianfeng.notify.providers.TencentSmsGateway",
           "NOTIFY_SMS_TEMPLATES": json.dumps({"*": {"template": "1000002", "params": ["subject", "link"]}}),
           "NOTIFY_SMS_SIGN_NAME": providers.sign_name, "NOTIFY_TENCENT_SECRET_ID": fakes.TENCENT_KEY[0],
           "NOTIFY_TENCENT_SECRET_KEY": fakes.TENCENT_KEY[1], "NOTIFY_TENCENT_SMS_APP_ID": fakes.TENCENT_APP_ID,
           "NOTIFY_TENCENT_SMS_ENDPOINT": providers.url, "NOTIFY_WEBHOOK_ALLOW_PRIVATE": "1",
           "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    workers = [subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "worker", "--no-periodic", "--poll", "0.05",
                                 "--exit-when-idle", "--worker-id", f"w{k}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in (1, 2)]
    logs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    per_phone = Counter(m.phone for m in providers.messages)
    assert len(per_phone) == 40 and set(per_phone.values()) == {1}
    assert Delivery.objects.filter(channel="sms", status=Delivery.Status.SENT).count() == 40
    assert Delivery.objects.filter(channel="email", status=Delivery.Status.SENT).count() == 40
    assert all(d.attempts == 1 for d in Delivery.objects.filter(channel__in=["sms", "email"]))
    assert GroupPost.objects.get().status == GroupPost.Status.SENT and len(providers.robot_posts) == 1
