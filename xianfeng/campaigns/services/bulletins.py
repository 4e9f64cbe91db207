"""Bulletins (news and 简报): writing, publishing and withdrawing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from xianfeng.core.audit import audit_record
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Organisation

from ..models import (
    Bulletin,
)
from .common import _now, _require

IMAGE_MAX_BYTES = 5 * 1024 * 1024


def check_image(upload: Any, name: str = "image") -> None:
    """An image a browser can show (JPEG, PNG, GIF, WebP), verified by Pillow, at most 5 MB."""
    from PIL import Image, UnidentifiedImageError

    from xianfeng.core.uploads import UploadRefused, check_upload

    if upload.size > IMAGE_MAX_BYTES:
        raise ValidationError({name: ["图片不能超过5MB"]})
    try:  # the upload gate: pixels counted from the header before anything is decoded (decompression bombs)
        check_upload(upload, filename="image.png", kinds=("image",), max_bytes=IMAGE_MAX_BYTES)
    except UploadRefused as exc:
        raise ValidationError({name: [str(exc)]}) from None
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError({name: ["文件不是有效的图片"]}) from None
    finally:
        upload.seek(0)
    if fmt not in {"JPEG", "PNG", "GIF", "WEBP"}:
        raise ValidationError({name: ["图片须为JPEG、PNG、GIF或WebP格式"]})


@transaction.atomic
def bulletin_create(*, org: Organisation, title: str, body: str, kind: str = Bulletin.Kind.NEWS,
                    issue: int | None = None, image: Any = None, publish: bool = False, actor: Any) -> Bulletin:
    """A news item or briefing (简报 carry an issue number, unique per organisation); the actor may change `org`."""
    _require(actor, "change", org)
    if kind == Bulletin.Kind.BRIEFING and not issue:
        raise ValidationError({"issue": ["简报须有期号"]})
    if image:
        check_image(image)
    if issue and Bulletin.objects.filter(org=org, kind=kind, issue=issue).exists():
        raise ValidationError({"issue": ["该期号已使用"]})
    bulletin = Bulletin(org=org, kind=kind, issue=issue or None, title=clean_text(title, "title", 200),
                        body=clean_text(body, "body", 50_000, multiline=True),
                        author=actor if getattr(actor, "is_authenticated", False) else None)
    if image:
        bulletin.image = image
    bulletin.full_clean(exclude=["image"])
    bulletin.save()
    audit_record(by=actor, action="create", obj=bulletin, summary=f"简报 {bulletin.title}")
    if publish:
        bulletin_publish(bulletin=bulletin, actor=actor)
    return bulletin


@transaction.atomic
def bulletin_publish(*, bulletin: Bulletin, at: dt.datetime | None = None, actor: Any) -> Bulletin:
    """Publish a bulletin (the actor may change its organisation)."""
    _require(actor, "change", bulletin)
    if Bulletin.objects.filter(pk=bulletin.pk, published_at__isnull=True).update(published_at=_now(at)) != 1:
        raise ValidationError({"published_at": ["已发布"]})
    bulletin.refresh_from_db()
    audit_record(by=actor, action="update", obj=bulletin, after={"published_at": str(bulletin.published_at)},
                 summary=f"发布 {bulletin.title}")
    return bulletin


@transaction.atomic
def bulletin_withdraw(*, bulletin: Bulletin, actor: Any) -> Bulletin:
    """Take a published bulletin back (the actor may change its organisation)."""
    _require(actor, "change", bulletin)
    if Bulletin.objects.filter(pk=bulletin.pk, published_at__isnull=False).update(published_at=None) != 1:
        raise ValidationError({"published_at": ["尚未发布"]})
    bulletin.refresh_from_db()
    audit_record(by=actor, action="update", obj=bulletin, after={"published_at": None}, summary=f"撤回 {bulletin.title}")
    return bulletin
