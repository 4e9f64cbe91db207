"""The certificate PDF (志愿服务记录证明), rendered by WeasyPrint from an HTML template with a CJK font that the
system provides (Debian's fonts-wqy-microhei; `make system-deps` installs it)."""

from __future__ import annotations

import functools

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Certificate


@functools.lru_cache(maxsize=256)
def qr_svg(data: str, *, scale: int = 5) -> str:
    """An inline <svg> QR code of `data` (error correction M, quiet zone 4). Remembered per process: the organiser's
    screen polls every few seconds while its code changes every 30 s."""
    return segno.make(data, error="m", micro=False).svg_inline(scale=scale, dark="#000", light="#fff")


def verify_url(cert: Certificate) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("events:verify") + f"?code={cert.code}"


def certificate_pdf(cert: Certificate) -> bytes:
    from weasyprint import HTML

    svg = segno.make(verify_url(cert), error="m").svg_data_uri(scale=4)
    html = render_to_string("events/certificate_pdf.html", {
        "cert": cert, "person": cert.person,
        "rows": [(day, title, round(minutes / 60, 2)) for _pk, day, title, minutes in cert.entries],
        "verify_url": verify_url(cert), "qr": svg,
        "code": "-".join(cert.code[i:i + 4] for i in range(0, len(cert.code), 4)),
        "issued": timezone.localtime(cert.issued_at).date(),
    })
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
