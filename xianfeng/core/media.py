"""Uploaded files over HTTP.

Public uploads (bulletin images, award photos) are files under MEDIA_ROOT whose path starts with one of
MEDIA_PUBLIC_PREFIXES; `public_media` streams them at MEDIA_URL to anyone, so `xianfeng serve` answers the same URLs
that nginx serves from disk in production (docs/DEPLOYMENT.md). Everything else under MEDIA_ROOT (pledge photos) and
the private folders (case photos, service-record photos) is reached only through its module's view, which checks the
viewer may see the record first and then answers with `file_response`.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.utils._os import safe_join
from django.utils.http import http_date
from django.views.decorators.http import require_safe

# Shown inline; anything else (an SVG with a script in it, an HTML file uploaded as an "image") is a download.
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "application/pdf"}
DEFAULT_PUBLIC_PREFIXES = ("campaigns/bulletins/", "campaigns/awards/")


def public_prefixes() -> tuple[str, ...]:
    return tuple(getattr(settings, "MEDIA_PUBLIC_PREFIXES", DEFAULT_PUBLIC_PREFIXES))


def content_type(name: str) -> str:
    kind, _ = mimetypes.guess_type(name)
    return kind or "application/octet-stream"


def file_response(handle, name: str, *, public: bool) -> FileResponse:
    """Stream an open file; images inline, anything else as an attachment; never sniffed."""
    kind = content_type(name)
    inline = kind in INLINE_TYPES
    response = FileResponse(handle, content_type=kind if inline else "application/octet-stream",
                            as_attachment=not inline, filename=posixpath.basename(name))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400" if public else "private, max-age=3600"
    return response


def field_file_response(field: FieldFile | None) -> FileResponse:
    """A stored file of a record the caller has already checked the viewer may see; 404 when it is missing."""
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except (FileNotFoundError, OSError, SuspiciousFileOperation):
        raise Http404 from None
    return file_response(handle, field.name or "", public=False)


@require_safe
def public_media(request, path: str):
    """A public upload under MEDIA_ROOT; 404 for anything outside the public prefixes, missing, or escaping the
    folder (`..`, absolute paths, symlinks out of MEDIA_ROOT)."""
    clean = posixpath.normpath(path).lstrip("/")
    if clean != path or "\\" in path or "\x00" in path or not clean.startswith(public_prefixes()):
        raise Http404
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        full = Path(safe_join(str(root), clean)).resolve()
    except (SuspiciousFileOperation, ValueError):
        raise Http404 from None
    if not full.is_relative_to(root) or not full.is_file():
        raise Http404
    try:
        handle = full.open("rb")
    except OSError:
        raise Http404 from None
    response = file_response(handle, clean, public=True)
    response["Last-Modified"] = http_date(full.stat().st_mtime)
    return response


class PrivateStorage(FileSystemStorage):
    """Uploads kept under VAR_DIR/private/<folder>, never under MEDIA_ROOT (which a web server may publish), and served
    only by views that check who may see their record. The setting named by `setting` overrides the place; it is read
    at each use, so a changed setting (a test's temporary folder) takes effect at once."""

    setting = ""
    folder = ""

    @property
    def base_location(self):
        return str(getattr(settings, self.setting, None) or Path(settings.VAR_DIR) / "private" / self.folder)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None
