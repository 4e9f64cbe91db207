"""Officials' group chats: DingTalk (钉钉/浙政钉) and WeCom (企业微信) group robots.

An organisation's system administrator registers a robot (GroupRobot: the webhook address the group's robot
settings show, the DingTalk "加签" secret, the kinds it carries). When a notice of one of those kinds goes to anybody
holding a role at that organisation or below, it is posted once to the group (GroupPost, unique per robot and
notice key — a case dispatched to three staff members is one post), by the worker, with a link to the page.

DingTalk: POST {webhook}&timestamp={ms}&sign={urlencoded base64 HMAC-SHA256 of "timestamp\\nsecret" under the
secret}; answer {"errcode": 0}. WeCom: POST {webhook} (its `key` parameter is the credential); answer {"errcode": 0}.
A robot answering an error parks the post with its reason (retried first where a retry can help: throttling,
network); the members' inboxes hold the notice all the same.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from xianfeng.jobs.services import backoff_delay, job_schedule

from .gateways import DeliveryError, absolute_link, check_public_url, post_json
from .models import ANY_KIND, GroupPost, GroupRobot

POST_JOB = "notify.group_post"
# errcodes worth another try: DingTalk 410100 (sending too fast), 130101 (too many a minute); WeCom 45009 (api freq
# out of limit), -1 (system busy)
RETRYABLE = {410100, 130101, 45009, -1}


def dingtalk_signed_url(webhook: str, secret: str, now_ms: int | None = None) -> str:
    if not secret:
        return webhook
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{webhook}{'&' if '?' in webhook else '?'}timestamp={timestamp}&sign={sign}"


def message(robot: GroupRobot, post: GroupPost) -> dict[str, Any]:
    link = absolute_link(post.link)
    text = f"#### {post.subject}\n\n{post.body}".strip()
    if link:
        text += f"\n\n[打开页面]({link})"
    if robot.platform == GroupRobot.Platform.DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": post.subject, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


class RobotError(DeliveryError):
    def __init__(self, text: str, retryable: bool):
        super().__init__(text)
        self.retryable = retryable


def send(robot: GroupRobot, post: GroupPost) -> str:
    """POST one post to its robot. Returns the answer; raises RobotError."""
    try:
        check_public_url(robot.webhook)
        url = robot.webhook
        if robot.platform == GroupRobot.Platform.DINGTALK:
            url = dingtalk_signed_url(url, robot.secret)
        body = json.dumps(message(robot, post), ensure_ascii=False).encode("utf-8")
        answer = post_json(url, body, {}, float(getattr(settings, "NOTIFY_HTTP_TIMEOUT", 10)))
    except RobotError:
        raise
    except DeliveryError as exc:
        raise RobotError(str(exc), retryable=True) from None
    try:
        data = json.loads(answer.split(": ", 1)[1])
        errcode = int(data.get("errcode", -1))
    except (IndexError, ValueError, AttributeError):
        raise RobotError(f"机器人的回应无法识别：{answer[:200]}", retryable=True) from None
    if errcode != 0:
        raise RobotError(f"errcode {errcode}：{data.get('errmsg', '')}"[:500], retryable=errcode in RETRYABLE)
    return answer


_active: tuple[float, list[tuple[int, str, list[str]]]] | None = None


def _forget(**kwargs: Any) -> None:
    global _active
    _active = None


post_save.connect(_forget, sender=GroupRobot)
post_delete.connect(_forget, sender=GroupRobot)


def active_robots() -> list[tuple[int, str, list[str]]]:
    """(id, organisation path, kinds) of the active robots, read at most every NOTIFY_ROBOTS_CACHE_SECONDS (a robot
    changed in another process takes effect within that time; in this one at once). Keeps notify() and the alert
    pages' bulk paging at their query counts when no robot is set up."""
    global _active
    now = time.monotonic()
    if _active is None or _active[0] < now:
        rows = [(pk, path, list(kinds or [])) for pk, path, kinds in
                GroupRobot.objects.filter(is_active=True).values_list("pk", "org__path", "kinds")]
        _active = (now + float(getattr(settings, "NOTIFY_ROBOTS_CACHE_SECONDS", 30)), rows)
    return _active[1]


def robots_for(kind: str, user_ids: list[int]) -> list[int]:
    """The ids of the active robots that carry `kind` for any of these users: at an organisation where one of them
    holds a role, or above it."""
    robots = [(pk, path) for pk, path, kinds in active_robots() if ANY_KIND in kinds or kind in kinds]
    if not robots or not user_ids:
        return []
    paths = set(get_user_model().objects.filter(pk__in=user_ids, roles__isnull=False)
                .values_list("roles__org__path", flat=True))
    return [pk for pk, path in robots if any(p.startswith(path) for p in paths)]


def posts_for(*, kind: str, key: str, subject: str, body: str, link: str, user_ids: list[int],
              now: dt.datetime) -> list[tuple[str, dict[str, Any], dt.datetime, str]]:
    """Write the group posts a notice makes (inside the caller's transaction) and return their jobs. A robot that
    already has a post under `key` gets no second one."""
    jobs = []
    for robot_id in robots_for(kind, user_ids):
        try:
            with transaction.atomic():
                post = GroupPost.objects.create(robot_id=robot_id, key=key[:200], kind=kind, subject=subject[:200],
                                                body=body[:2000], link=link[:500])
        except IntegrityError:
            continue
        jobs.append((POST_JOB, {"post_id": post.pk}, now, f"{POST_JOB}:{post.pk}:1"))
    return jobs


def group_post_attempt(*, post_id: int) -> str:
    """Post once (the worker's job); on a retryable error schedule another try after a backoff, else — or after
    NOTIFY_MAX_ATTEMPTS — park the post with its reason. Safe to run twice. Returns the status."""
    post = GroupPost.objects.select_related("robot").filter(pk=post_id).first()
    if post is None:
        return "missing"
    if post.status != GroupPost.Status.PENDING:
        return post.status
    number = post.attempts + 1
    if GroupPost.objects.filter(pk=post.pk, status=GroupPost.Status.PENDING, attempts=post.attempts).update(
            attempts=F("attempts") + 1) != 1:
        return "taken"
    current = GroupPost.objects.filter(pk=post.pk, status=GroupPost.Status.PENDING)
    if not post.robot.is_active:
        current.update(status=GroupPost.Status.PARKED, last_error="机器人已停用")
        return GroupPost.Status.PARKED
    try:
        answer = send(post.robot, post)
    except RobotError as exc:
        if not exc.retryable or number >= int(getattr(settings, "NOTIFY_MAX_ATTEMPTS", 6)):
            current.update(status=GroupPost.Status.PARKED, last_error=str(exc)[:5000])
            return GroupPost.Status.PARKED
        due = timezone.now() + dt.timedelta(
            seconds=backoff_delay(number, float(getattr(settings, "NOTIFY_RETRY_SECONDS", 60))))
        current.update(last_error=str(exc)[:5000])
        job_schedule(name=POST_JOB, args={"post_id": post.pk}, due_at=due, key=f"{POST_JOB}:{post.pk}:{number + 1}")
        return GroupPost.Status.PENDING
    current.update(status=GroupPost.Status.SENT, sent_at=timezone.now(), last_error="", response=answer[:500])
    return GroupPost.Status.SENT
