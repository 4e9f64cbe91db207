"""notify_bulk writes exactly the rows notify() writes for each person — held side by side here."""

from django.utils import timezone

from xianfeng.core.testing import make_person, make_user
from xianfeng.jobs.models import Job
from xianfeng.jobs.services import jobs_schedule_new
from xianfeng.notify import bulk
from xianfeng.notify.models import Delivery, Notification, WebhookEndpoint
from xianfeng.notify.services import notify, preference_set

KIND = "care.alert"
CHANNELS = ["in_app", "sms"]


def people(world):
    plain = make_user("p_plain", None, None, person=make_person("甲", phone="13900000011"))
    no_phone = make_user("p_nophone", None, None, person=make_person("乙", phone=""))
    chooser = make_user("p_chooser", None, None, person=make_person("丙", phone="13900000012"))
    chooser.email = "bing@example.org"
    chooser.save()
    preference_set(user=chooser, kind=KIND, channels=["email", "sms", "webhook"], actor=chooser)
    WebhookEndpoint.objects.create(user=chooser, url="https://hooks.example.org/a", secret="s" * 64)
    everything = make_user("p_star", None, None, person=make_person("丁", phone="13900000013"))
    preference_set(user=everything, kind="*", channels=["email"], actor=everything)  # not for this kind: the alert's channels apply
    return [plain, no_phone, chooser, everything]


def rows(key):
    out = []
    for n in Notification.objects.filter(key=key).order_by("recipient_id"):
        deliveries = sorted((d.channel, d.target, d.status, d.attempts, d.last_error, d.endpoint_id,
                             d.attempt_rows.count(), Job.objects.filter(key=f"notify.deliver:{d.pk}:1").count())
                            for d in n.deliveries.all())
        out.append((n.recipient_id, n.kind, n.subject, n.body, n.link, n.in_app, deliveries))
    return out


def test_paging_writes_what_notify_writes(world, django_assert_max_num_queries):
    users = people(world)
    for user in users:
        notify(to=user, kind=KIND, subject="呼叫", body="正文", link=f"/care/ack/{user.pk}/", key="by-notify",
               default_channels=CHANNELS)
    with django_assert_max_num_queries(2):  # people, channels and addresses; webhooks (one of them has some)
        found = bulk.recipients([u.pk for u in users], KIND, CHANNELS)
    with django_assert_max_num_queries(4):  # notifications, deliveries, attempts, jobs
        jobs = bulk.notify_bulk(people=found, kind=KIND, subject="呼叫", body="正文",
                           links={u.pk: f"/care/ack/{u.pk}/" for u in users}, key="by-paging",
                           default_channels=CHANNELS, now=timezone.now())
        jobs_schedule_new(jobs)
    assert rows("by-paging") == rows("by-notify")
    assert len(rows("by-paging")) == 4
    assert Delivery.objects.filter(notification__key="by-paging", status="skipped").count() == 1  # 乙 has no phone


def test_inactive_people_are_not_paged(world):
    users = people(world)
    users[0].is_active = False
    users[0].save()
    assert [p.pk for p in bulk.recipients([u.pk for u in users], KIND, CHANNELS)] == [u.pk for u in users[1:]]
    assert bulk.recipients([], KIND, CHANNELS) == []
    assert bulk.notify_bulk(people=[], kind=KIND, subject="x", body="", links={}, key="k", default_channels=CHANNELS,
                       now=timezone.now()) == []
