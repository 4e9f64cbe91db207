"""Responsibility posts in the home page's work queue: services waiting for the resident's confirmation."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from xianfeng.core.queue import entry

from .selectors import to_confirm


@entry("posts_confirm", _("Post services waiting for your confirmation"), 120)
def services_to_confirm(user: Any) -> tuple[int, str] | None:
    n = to_confirm(user).count()
    return (n, reverse("posts:list")) if n else None
