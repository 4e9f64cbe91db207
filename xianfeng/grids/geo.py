"""Grid boundaries: GeoJSON parsing with clear errors, point-in-polygon lookup (shapely STRtree), distances."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.core.exceptions import ValidationError
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_000.0


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def check_point(lat: Any, lng: Any) -> tuple[float, float]:
    """Validated (lat, lng) floats. Raises ValidationError."""
    try:
        lat_f, lng_f = float(lat), float(lng)
    except (TypeError, ValueError):
        raise ValidationError({"location": ["经纬度须为数字"]}) from None
    if not (math.isfinite(lat_f) and math.isfinite(lng_f)) or not (-90 <= lat_f <= 90 and -180 <= lng_f <= 180):
        raise ValidationError({"location": ["经纬度超出范围（纬度 −90～90，经度 −180～180）"]})
    return lat_f, lng_f


def parse_boundary(value: Any) -> Polygon | MultiPolygon:
    """A grid boundary from GeoJSON (a Polygon or MultiPolygon geometry, or a Feature holding one; text or dict).

    Coordinates are [longitude, latitude] as GeoJSON says. Raises ValidationError({"boundary": [reason]}).
    """
    def bad(reason: str) -> ValidationError:
        return ValidationError({"boundary": [reason]})

    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            raise bad("边界不是有效的 JSON") from None
    if not isinstance(value, dict):
        raise bad("边界须为 GeoJSON 对象")
    if value.get("type") == "Feature":
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise bad("GeoJSON Feature 缺少 geometry")
    if value.get("type") not in ("Polygon", "MultiPolygon"):
        raise bad(f"边界须为 Polygon 或 MultiPolygon，实际为 {str(value.get('type'))[:30]}")
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise bad(f"边界坐标格式不正确：{str(exc)[:100]}") from None
    if geom.is_empty:
        raise bad("边界面积为零")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise bad("边界坐标超出经纬度范围（GeoJSON 坐标顺序为 [经度, 纬度]）")
    if not geom.is_valid:
        raise bad(f"边界不是有效的多边形：{explain_invalid(geom)}")
    if geom.area <= 0:
        raise bad("边界面积为零")
    return geom


# shapely's (GEOS's) reasons, in the words a person fixing the file needs
INVALID_REASONS = {
    "Self-intersection": "边界自相交",
    "Ring Self-intersection": "边界环自相交",
    "Too few points": "点数太少，构不成多边形",
    "Hole lies outside shell": "内洞在外边界之外",
    "Nested holes": "内洞相互嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "多个外边界相互嵌套",
    "Duplicate Rings": "环重复",
    "Invalid Coordinate": "坐标无效",
    "Ring not closed": "环未闭合（首尾坐标须相同）",
}


def explain_invalid(geom) -> str:
    """Why a geometry is not a valid polygon, in Chinese, with the place shapely points at."""
    text = explain_validity(geom)
    reason, _, place = text.partition("[")
    words = INVALID_REASONS.get(reason.strip(), reason.strip())
    return f"{words}（位置 {place.rstrip(']').strip()}）" if place else words


@dataclass(frozen=True)
class BoundaryFeature:
    """One feature of an uploaded FeatureCollection that passed every check: its place in the file (from 1), the
    grid code and name from its properties, and its geometry as a valid (Multi)Polygon."""

    index: int
    code: str
    name: str
    geometry: Polygon | MultiPolygon


MAX_FEATURES = 5000


def parse_feature_collection(value: Any, *, require_code: bool = True) -> list[BoundaryFeature]:
    """Grid boundaries from a GeoJSON FeatureCollection (text, bytes or a parsed dict): each feature a Polygon or
    MultiPolygon, valid by shapely, with the grid's code in `properties.code` (and optionally `properties.name`).

    Pure (no database), so it can be tested on any input. Checks the whole file and raises one
    ValidationError({"file": [reason, …]}) naming every bad feature 「第n个要素（编码 …）：reason」; nothing is returned
    unless every feature is good. Codes must be unique within the file."""
    def fail(reasons: list[str]) -> ValidationError:
        return ValidationError({"file": reasons})

    if isinstance(value, (bytes, bytearray)):
        try:
            value = value.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise fail(["文件不是 UTF-8 编码的文本"]) from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            raise fail(["文件不是有效的 JSON"]) from None
    if not isinstance(value, dict) or value.get("type") != "FeatureCollection" or not isinstance(
            value.get("features"), list):
        raise fail(["须为 GeoJSON FeatureCollection（type 为 FeatureCollection，含 features 列表）"])
    features = value["features"]
    if not features:
        raise fail(["文件中没有要素"])
    if len(features) > MAX_FEATURES:
        raise fail([f"要素过多（{len(features)} 个），一次最多 {MAX_FEATURES} 个"])
    errors: list[str] = []
    parsed: list[BoundaryFeature] = []
    first_seen: dict[str, int] = {}
    for i, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        code = props.get("code")
        code = str(code).strip()[:40] if isinstance(code, (str, int)) and not isinstance(code, bool) else ""
        name = props.get("name")
        name = " ".join(str(name).split())[:60] if isinstance(name, (str, int)) and not isinstance(name, bool) else ""
        label = f"第{i}个要素（{'编码 ' + code if code else name or '无编码'}）"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(f"{label}：不是 GeoJSON Feature")
            continue
        try:
            geom = parse_boundary(feature)
        except ValidationError as exc:
            errors.append(f"{label}：{exc.message_dict['boundary'][0]}")
            continue
        if require_code and not code:
            errors.append(f"{label}：properties 中缺少网格编码 code")
            continue
        if not code and not name:
            errors.append(f"{label}：properties 中缺少网格编码 code 或名称 name")
            continue
        if code and code in first_seen:
            errors.append(f"{label}：网格编码与第{first_seen[code]}个要素重复")
            continue
        if code:
            first_seen[code] = i
        parsed.append(BoundaryFeature(index=i, code=code, name=name, geometry=geom))
    if errors:
        raise fail(errors)
    return parsed


def bounds_of(geom: Polygon | MultiPolygon) -> dict[str, float]:
    minx, miny, maxx, maxy = geom.bounds
    return {"min_lng": minx, "min_lat": miny, "max_lng": maxx, "max_lat": maxy}


@dataclass
class GridIndex:
    """The grids with boundaries, in an STRtree: `locate(lat, lng)` answers the containing grid's id or None."""

    ids: np.ndarray
    tree: shapely.STRtree
    key: tuple
    bounds: tuple = ()  # (min_lng, min_lat, max_lng, max_lat) of every boundary together; () without boundaries

    @classmethod
    def build(cls, rows: list[tuple[int, Any]], key: tuple = ()) -> GridIndex:
        """rows: (grid id, GeoJSON boundary). Boundaries were validated when stored."""
        geoms = [shape(boundary) for _, boundary in rows]
        for g in geoms:
            shapely.prepare(g)
        bounds = tuple(float(v) for v in shapely.total_bounds(geoms)) if geoms else ()
        return cls(ids=np.array([pk for pk, _ in rows], dtype=np.int64), tree=shapely.STRtree(geoms), key=key,
                   bounds=bounds)

    def within_area(self, lat: float, lng: float, margin_m: float) -> bool:
        """Whether the point lies in the grids' bounding box widened by `margin_m` on every side — the county's
        area as its own grid data draws it. True while no grid has a boundary (there is nothing to compare with)."""
        if not self.bounds:
            return True
        min_lng, min_lat, max_lng, max_lat = self.bounds
        dlat = margin_m / 111_320.0
        dlng = margin_m / (111_320.0 * max(0.01, math.cos(math.radians(min(89.0, abs(lat))))))
        return min_lat - dlat <= lat <= max_lat + dlat and min_lng - dlng <= lng <= max_lng + dlng

    def locate(self, lat: float, lng: float) -> int | None:
        hits = self.tree.query(Point(lng, lat), predicate="within")
        if len(hits) == 0:
            return None
        return int(self.ids[hits.min()])  # overlapping boundaries: the earliest grid wins, the same every time

    def locate_many(self, points: np.ndarray) -> np.ndarray:
        """points: (n, 2) array of (lat, lng); answers grid ids, -1 where no grid contains the point."""
        geoms = shapely.points(points[:, 1], points[:, 0])
        pairs = self.tree.query(geoms, predicate="within")
        first = np.full(len(points), len(self.ids), dtype=np.int64)
        np.minimum.at(first, pairs[0], pairs[1])  # overlapping boundaries: the earliest grid wins, as in locate()
        found = first < len(self.ids)
        result = np.full(len(points), -1, dtype=np.int64)
        result[found] = self.ids[first[found]]
        return result


_cache: dict[str, GridIndex] = {}
_lock = threading.Lock()


def grid_index() -> GridIndex:
    """The index of every grid boundary, rebuilt when a boundary changed (checked with one small query)."""
    from django.db.models import Count, Max

    from .models import Grid

    with_boundary = Grid.objects.filter(boundary__isnull=False)
    stamp = with_boundary.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    key = (stamp["n"], stamp["last"], stamp["top"])
    index = _cache.get("index")
    if index is not None and index.key == key:
        return index
    with _lock:
        rows = list(with_boundary.order_by("id").values_list("id", "boundary"))
        index = GridIndex.build(rows, key=key)
        _cache["index"] = index
    return index
