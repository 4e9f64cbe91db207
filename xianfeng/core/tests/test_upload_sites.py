"""Every place that reads an upload goes through the gate: photos, bulletin images, plan files, XLSForms, GeoJSON."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from xianfeng.core.tests import hostile


def _bomb(name: str = "bomb.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, hostile.decompression_bomb_png(), content_type="image/png")


def _png_over_our_limit() -> SimpleUploadedFile:
    # 100 megapixels: under Pillow's own refusal (2 × 89 M), over UPLOAD_MAX_IMAGE_PIXELS (64 M)
    return SimpleUploadedFile("big.png", hostile.png(10_000, 10_000), content_type="image/png")


@pytest.mark.parametrize("upload", [_bomb, _png_over_our_limit])
def test_pledge_photos_are_bounded_in_pixels(upload):
    from xianfeng.pledges.services import clean_photo

    with pytest.raises(ValidationError, match="像素"):
        clean_photo(upload())


@pytest.mark.parametrize("upload", [_bomb, _png_over_our_limit])
def test_bulletin_images_are_bounded_in_pixels(upload):
    from xianfeng.campaigns.services.bulletins import check_image

    with pytest.raises(ValidationError, match="像素"):
        check_image(upload())


def test_a_plan_docx_that_is_a_zip_bomb_is_refused():
    import zipfile

    from xianfeng.campaigns.services.plans import check_document

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("word/document.xml", "<w:document/>")
        with z.open("word/media/zeros.bin", "w") as member:
            for _ in range(260):
                member.write(b"\0" * (1024 * 1024))
    with pytest.raises(ValidationError, match="解压后超过"):
        check_document(SimpleUploadedFile("plan.docx", buf.getvalue()))


@pytest.mark.django_db
def test_case_report_photos_are_bounded_in_pixels():
    from xianfeng.grids.forms import ReportForm

    form = ReportForm(data={"description": "路灯坏了", "address": "城北路"}, files={"photo": _png_over_our_limit()})
    assert not form.is_valid()
    assert "像素" in str(form.errors["photo"])


@pytest.mark.django_db
def test_service_record_photos_are_bounded_in_pixels():
    from xianfeng.demands.forms import RecordForm

    form = RecordForm(data={"served_on": "2026-01-01", "notes": "x"}, files={"photo": _png_over_our_limit()})
    assert not form.is_valid()
    assert "像素" in str(form.errors["photo"])


@pytest.mark.parametrize("builder", [hostile.corner_cells, hostile.dimension_trick, hostile.csv_named_xlsx,
                                     hostile.old_xls])
def test_xlsforms_pass_the_gate_before_pyxform(builder):
    from xianfeng.inspections.survey import FormError, import_xlsform

    with pytest.raises(FormError) as caught:
        import_xlsform(builder(), filename="form.xlsx")
    assert any(word in str(caught.value) for word in ("超过上限", "不是 .xlsx", "旧版 .xls"))


def test_geojson_nested_thousands_deep_is_invalid_json_not_a_crash():
    from xianfeng.grids import geo

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValidationError, match="JSON"):
        geo.parse_feature_collection(deep)
    with pytest.raises(ValidationError, match="JSON"):
        geo.parse_boundary(deep)


@pytest.mark.django_db
def test_a_request_body_declared_over_the_limit_is_refused_before_it_is_read(client_for, settings):
    from django.urls import reverse

    settings.UPLOAD_MAX_REQUEST_BYTES = 1024 * 1024
    client = client_for("hebin_secretary")
    for path, declared in ((reverse("orgs:roster_import"), 5 * 1024**3), ("/api/v1/orgs/", 2 * 1024 * 1024)):
        # the body is 10 bytes; only the declared length matters, and nothing tries to read 5 GiB
        response = client.generic("POST", path, b"0123456789", content_type="multipart/form-data; boundary=x",
                                  CONTENT_LENGTH=str(declared))
        assert response.status_code == 413, path
    assert "1 MB" in response.json()["detail"]
    assert client.get(reverse("orgs:roster_import")).status_code == 200
