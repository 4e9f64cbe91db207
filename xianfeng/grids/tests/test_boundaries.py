"""Grid boundaries uploaded as GeoJSON: the parser (hypothesis) and the page (all or nothing, audited, scoped)."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xianfeng.core.models import AuditEvent
from xianfeng.grids.geo import parse_feature_collection
from xianfeng.grids.models import Grid

from .conftest import square

BOWTIE = {"type": "Polygon", "coordinates": [[[120.94, 30.52], [120.95, 30.53], [120.94, 30.53], [120.95, 30.52],
                                              [120.94, 30.52]]]}


def feature(code, geometry, **props):
    return {"type": "Feature", "properties": {"code": code, **props}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


# ---- the parser ----------------------------------------------------------------------------------------------------

squares = st.builds(square, st.floats(min_value=100, max_value=130), st.floats(min_value=10, max_value=50),
                    st.floats(min_value=0.0001, max_value=0.5))
codes = st.text(alphabet="0123456789ABC", min_size=1, max_size=20)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(codes, squares), min_size=1, max_size=12, unique_by=lambda t: t[0]))
def test_valid_collections_parse_to_every_feature_in_order(items):
    parsed = parse_feature_collection(json.dumps(collection(*[feature(c, g) for c, g in items])))
    assert [(p.index, p.code) for p in parsed] == [(i, c) for i, (c, _) in enumerate(items, start=1)]
    assert all(p.geometry.is_valid and p.geometry.area > 0 for p in parsed)


BAD = {
    "bowtie": (lambda code: feature(code, BOWTIE), "自相交"),
    "point": (lambda code: feature(code, {"type": "Point", "coordinates": [120.9, 30.5]}), "Polygon 或 MultiPolygon"),
    "line": (lambda code: feature(code, {"type": "LineString", "coordinates": [[120.9, 30.5], [121, 30.6]]}),
             "Polygon 或 MultiPolygon"),
    "no code": (lambda code: feature("", square(120.9, 30.5)), "缺少网格编码"),
    "too few points": (lambda code: feature(code, {"type": "Polygon", "coordinates": [
        [[120.9, 30.5], [121, 30.5], [120.9, 30.5]]]}), "不是有效的多边形"),
    "not a feature": (lambda code: {"type": "Polygon", "coordinates": []}, "不是 GeoJSON Feature"),
}


@settings(max_examples=150, deadline=None)
@given(good=st.lists(st.tuples(codes, squares), min_size=0, max_size=8, unique_by=lambda t: t[0]),
       bad=st.sampled_from(sorted(BAD)), where=st.integers(min_value=0, max_value=8))
def test_one_bad_feature_rejects_the_file_and_is_named(good, bad, where):
    make, reason = BAD[bad]
    features = [feature(c, g) for c, g in good]
    where = min(where, len(features))
    features.insert(where, make("BAD"))
    with pytest.raises(ValidationError) as exc:
        parse_feature_collection(collection(*features))
    [message] = exc.value.message_dict["file"]
    assert message.startswith(f"第{where + 1}个要素") and reason in message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["type", "features", "geometry", "properties", "coordinates", "code", "name"]), inner, max_size=4),
    max_leaves=30)
geojson_types = st.sampled_from(["Feature", "FeatureCollection", "Polygon", "MultiPolygon", "Point", None])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({"type": geojson_types, "properties": json_values, "geometry": st.one_of(
    json_values, st.fixed_dictionaries({"type": geojson_types, "coordinates": json_values}))}), max_size=5)
       | json_values)
def test_any_input_parses_or_gives_a_clear_error_never_a_crash(features):
    data = collection(*features) if isinstance(features, list) else features
    try:
        parsed = parse_feature_collection(data)
    except ValidationError as exc:
        assert exc.message_dict["file"] and all(isinstance(m, str) and m for m in exc.message_dict["file"])
    else:
        assert parsed and all(p.code and p.geometry.is_valid for p in parsed)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_bytes_and_text_that_are_not_geojson_are_refused_clearly(raw):
    with pytest.raises(ValidationError) as exc:
        parse_feature_collection(raw)
    assert exc.value.message_dict["file"]


def test_duplicate_codes_and_self_intersection_are_named():
    with pytest.raises(ValidationError) as exc:
        parse_feature_collection(collection(feature("A1", square(120.9, 30.5)), feature("A1", square(121, 30.5)),
                                            feature("B2", BOWTIE), feature("C3", square(120, 30), name="东区")))
    assert exc.value.message_dict["file"] == [
        "第2个要素（编码 A1）：网格编码与第1个要素重复",
        "第3个要素（编码 B2）：边界不是有效的多边形：边界自相交（位置 120.945 30.525）",
    ]


def test_a_multipolygon_is_accepted():
    multi = {"type": "MultiPolygon", "coordinates": [square(120.9, 30.5)["coordinates"],
                                                     square(121.0, 30.5)["coordinates"]]}
    [parsed] = parse_feature_collection(collection(feature("M1", multi)))
    assert parsed.geometry.geom_type == "MultiPolygon"


# ---- the page ------------------------------------------------------------------------------------------------------


def upload(client, data, name="grids.geojson"):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(reverse("grids:boundaries"), {"file": SimpleUploadedFile(name, body)})


def test_the_page_imports_every_boundary_and_audits_it(gw, world, client_for):
    client = client_for("hebin_secretary")
    assert client.get(reverse("grids:boundaries")).status_code == 200
    response = upload(client, collection(feature(gw.grid_a.code, square(120.930, 30.520)),
                                         feature(gw.grid_b.code, square(120.935, 30.520))))
    assert response.status_code == 302
    gw.grid_a.refresh_from_db()
    assert gw.grid_a.min_lng == pytest.approx(120.930)
    assert AuditEvent.objects.filter(action="import", summary="导入网格边界 2 个").count() == 1
    assert AuditEvent.objects.filter(action="update", summary=f"导入网格边界 {gw.grid_b.code}").count() == 1
    from xianfeng.grids import services

    assert services.grid_locate(lat=30.5225, lng=120.9325) == (gw.grid_a, False)  # the lookup sees it at once


@pytest.mark.parametrize("bad, reason", [
    (lambda gw: feature(gw.grid_b.code, BOWTIE), "边界自相交"),
    (lambda gw: feature(gw.grid_b.code, {"type": "Point", "coordinates": [120.9, 30.5]}), "Polygon 或 MultiPolygon"),
    (lambda gw: feature("330424001001999", square(120.9, 30.5)), "没有这个网格编码"),
])
def test_one_bad_feature_imports_nothing_and_says_which(gw, world, client_for, bad, reason):
    before = list(Grid.objects.order_by("id").values_list("boundary", flat=True))
    response = upload(client_for("hebin_secretary"), collection(feature(gw.grid_a.code, square(120.930, 30.520)),
                                                                bad(gw)))
    assert response.status_code == 400
    html = response.content.decode()
    assert "第2个要素" in html and reason in html and "第1个要素" not in html
    assert list(Grid.objects.order_by("id").values_list("boundary", flat=True)) == before
    assert not AuditEvent.objects.filter(action="import").exists()


def test_not_json_or_no_file_is_a_clear_error(gw, world, client_for):
    client = client_for("hebin_secretary")
    assert "不是有效的 JSON" in upload(client, b"{nope").content.decode()
    response = client.post(reverse("grids:boundaries"), {})
    assert response.status_code == 400 and "GeoJSON" in response.content.decode()


def test_another_villages_grid_code_is_unknown_and_outsiders_get_404(gw, world, client_for):
    data = collection(feature(gw.grid_a.code, square(120.930, 30.520)))
    response = upload(client_for("qinshan_secretary"), data)
    assert response.status_code == 400 and "没有这个网格编码" in response.content.decode()
    for who in ("resident", "grid_worker"):  # no right to change grids at all
        assert client_for(who).get(reverse("grids:boundaries")).status_code == 404
        assert upload(client_for(who), data).status_code == 404
    gw.grid_a.refresh_from_db()
    assert gw.grid_a.min_lng == pytest.approx(120.940)
