"""The funnel plot, drawn from its geometry twice: as SVG (pages, HTML and PDF reports) and as PNG (the .docx,
which cannot embed SVG). Rate against n, the pooled target line, exact 95 % and 99.8 % limits; no ranking."""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from . import stats

WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolHei-Regular.otf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def _geometry(f: stats.Funnel):
    """Scales and the limit curves: x is n on a log scale when n spans more than a decade."""
    ns = [p.n for p in f.points] or [1]
    n_max = max(ns)
    n_min = max(1, min(ns))
    log = n_max / n_min > 10
    rates = [p.rate for p in f.points] or [f.target]
    y_min = max(0.0, math.floor((min(min(rates), f.target) - 0.05) * 10) / 10)
    y_max = 1.0

    def sx(n: float) -> float:
        if log:
            a, b = math.log10(max(n_min * 0.8, 0.5)), math.log10(n_max * 1.1)
            return LEFT + (math.log10(max(n, 0.5)) - a) / (b - a) * (WIDTH - LEFT - RIGHT)
        return LEFT + n / (n_max * 1.05) * (WIDTH - LEFT - RIGHT)

    def sy(r: float) -> float:
        return TOP + (y_max - r) / (y_max - y_min or 1) * (HEIGHT - TOP - BOTTOM)

    grid_n = np.unique(np.geomspace(max(1, n_min * 0.8), n_max * 1.1, 80).round().astype(int)) if log else \
        np.unique(np.linspace(1, n_max * 1.05, 80).round().astype(int))
    grid_n = grid_n[grid_n >= 1]
    curves = {}
    for level in (0.95, 0.998):
        low, high = stats.funnel_limits(grid_n, f.target, level)
        curves[level] = (grid_n, np.maximum(low, y_min), high)
    return sx, sy, y_min, y_max, curves


def funnel_svg(f: stats.Funnel, *, title: str = "", names: dict[int, str] | None = None) -> str:
    names = names or {}
    sx, sy, y_min, y_max, curves = _geometry(f)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" style="width:100%;height:auto;font-family:sans-serif;font-size:12px">']
    out.append(f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>')
    for i in range(0, 11):
        r = y_min + (y_max - y_min) * i / 10
        y = sy(r)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{r * 100:.0f}%</text>')
    for level, dash, colour in ((0.95, "4 3", "#e0a000"), (0.998, "", "#c62828")):
        ns, low, high = curves[level]
        for series in (low, high):
            points = " ".join(f"{sx(n):.1f},{sy(v):.1f}" for n, v in zip(ns, series, strict=True))
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.3" '
                       f'{f"stroke-dasharray={chr(34)}{dash}{chr(34)} " if dash else ""}points="{points}"/>')
    ty = sy(f.target)
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#333"/>')
    for p in f.points:
        colour = "#c62828" if p.below998 else "#e0a000" if p.below95 else "#1565c0"
        label = escape(f"{names.get(p.org_id, p.org_id)}: {p.x}/{p.n} = {p.rate * 100:.1f}%")
        out.append(f'<circle cx="{sx(p.n):.1f}" cy="{sy(max(p.rate, y_min)):.1f}" r="3.2" fill="{colour}" '
                   f'fill-opacity="0.8"><title>{label}</title></circle>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle" fill="#333">n</text>')
    out.append(f'<text x="{LEFT}" y="16" fill="#333">{escape(title)} — {stats.format_percent(f.target)} '
               f'(—) · 95% (- -) · 99.8% (—)</text>')
    out.append("</svg>")
    return "".join(out)


@lru_cache(maxsize=1)
def _font_path() -> str | None:
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), None)


def funnel_png(f: stats.Funnel, *, title: str = "", scale: int = 2) -> bytes:
    """The same plot as a PNG (Pillow), for the .docx."""
    from PIL import Image, ImageDraw, ImageFont

    sx, sy, y_min, y_max, curves = _geometry(f)
    img = Image.new("RGB", (WIDTH * scale, HEIGHT * scale), "white")
    draw = ImageDraw.Draw(img)
    font_path = _font_path()
    font = ImageFont.truetype(font_path, 12 * scale) if font_path else ImageFont.load_default()

    def s(x: float, y: float) -> tuple[float, float]:
        return (x * scale, y * scale)

    for i in range(0, 11):
        r = y_min + (y_max - y_min) * i / 10
        y = sy(r)
        draw.line([s(LEFT, y), s(WIDTH - RIGHT, y)], fill="#eeeeee", width=scale)
        draw.text(s(LEFT - 40, y - 7), f"{r * 100:.0f}%", fill="#555555", font=font)
    for level, colour in ((0.95, "#e0a000"), (0.998, "#c62828")):
        ns, low, high = curves[level]
        for series in (low, high):
            draw.line([s(sx(n), sy(v)) for n, v in zip(ns, series, strict=True)], fill=colour, width=scale)
    ty = sy(f.target)
    draw.line([s(LEFT, ty), s(WIDTH - RIGHT, ty)], fill="#333333", width=scale)
    for p in f.points:
        colour = "#c62828" if p.below998 else "#e0a000" if p.below95 else "#1565c0"
        cx, cy = s(sx(p.n), sy(max(p.rate, y_min)))
        draw.ellipse([cx - 3 * scale, cy - 3 * scale, cx + 3 * scale, cy + 3 * scale], fill=colour)
    draw.text(s(LEFT, 6), f"{title}  {stats.format_percent(f.target)}  95% / 99.8%", fill="#333333", font=font)
    draw.text(s((LEFT + WIDTH) / 2, HEIGHT - 22), "n", fill="#333333", font=font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
