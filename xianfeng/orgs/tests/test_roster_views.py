"""Roster pages through HTTP: upload → preview → confirm, the error report, the template, the member export."""

import datetime as dt
import io
import re
import uuid
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xianfeng.core.ids import make_id_number
from xianfeng.core.models import AuditEvent
from xianfeng.orgs import roster, services
from xianfeng.orgs.models import Member, Person

pytestmark = pytest.mark.django_db

_seq = iter(range(500, 100_000))


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.ROSTER_UPLOAD_DIR = tmp_path / "uploads"


def a_row(**fields):
    row = {
        "姓名": "赵六", "性别": "男", "民族": "汉族", "出生日期": None,
        "身份证号": make_id_number("330424", dt.date(1986, 4, 5), next(_seq), "M"), "手机号": "13912345678",
        "学历": "本科", "职业": "教师", "入党日期": dt.date(2010, 7, 1), "转正日期": dt.date(2011, 7, 1),
        "所在党组织": "330424001001D01", "人员类别": "正式党员", "状态": "在册", "是否在职": "是",
    }
    row.update(fields)
    return row


def xlsx_upload(rows, name="花名册.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(roster.HEADERS))
    for row in rows:
        ws.append([row.get(h) for h in roster.HEADERS])
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="application/octet-stream")


def csv_upload(rows, encoding, name="花名册.csv"):
    lines = [",".join(roster.HEADERS)]
    lines += [",".join("" if row.get(h) is None else str(row[h]) for h in roster.HEADERS) for row in rows]
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(encoding), content_type="text/csv")


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def sheet_rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def run_jobs():
    """What the worker does: the dry run or the import the page queued."""
    from xianfeng.jobs.worker import Worker

    return Worker(exit_when_idle=True, sync_periodic=False, heartbeat_thread=False).run()


def upload(client, file):
    """Upload a file and let the worker check it (the preview page then shows what it found)."""
    response = client.post(reverse("orgs:roster_import"), {"file": file})
    run_jobs()
    return response


def confirm(client, preview_url):
    """Press "Import now" and let the worker import."""
    response = client.post(preview_url)
    run_jobs()
    return response


# ------------------------------------------------------------------------------------------------ upload form


def test_upload_page_shows_the_form_and_template_link(client_for):
    response = client_for("hebin_secretary").get(reverse("orgs:roster_import"))

    assert response.status_code == 200
    assert b'data-testid="roster-upload-form"' in response.content
    assert reverse("orgs:roster_template").encode() in response.content


def test_people_with_nothing_to_change_get_404(client_for):
    for persona in ("member", "resident"):
        client = client_for(persona)
        assert client.get(reverse("orgs:roster_import")).status_code == 404
        assert client.get(reverse("orgs:roster_template")).status_code == 404
        assert client.get(reverse("orgs:member_export")).status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("orgs:roster_import"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("name, data", [
    ("roster.txt", b"hello"),
    ("roster.xls", b"\xd0\xcf\x11\xe0 old binary"),
    ("roster.xlsx", b"this is not a zip"),
])
def test_wrong_file_type_is_a_field_error(client_for, name, data):
    response = upload(client_for("hebin_secretary"), SimpleUploadedFile(name, data))

    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert b'data-testid="file-errors"' in response.content and b"invalid-feedback" in response.content


def test_file_over_the_size_limit_is_a_field_error(client_for, settings):
    settings.ROSTER_UPLOAD_MAX_BYTES = 1000

    response = upload(client_for("hebin_secretary"), xlsx_upload([a_row()]))

    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_request_far_over_the_limit_is_refused_unread(client_for, settings):
    settings.ROSTER_UPLOAD_MAX_BYTES = 10

    response = upload(client_for("hebin_secretary"), SimpleUploadedFile("big.xlsx", b"x" * 200_000))

    assert response.status_code == 400
    assert b'data-testid="upload-error"' in response.content
    assert not settings.ROSTER_UPLOAD_DIR.exists()


def test_headers_without_rows_is_reported_on_the_preview(client_for):
    client = client_for("hebin_secretary")
    page = client.get(upload(client, xlsx_upload([]))["Location"])

    assert page.status_code == 200 and "文件中没有数据行".encode() in page.content


# ------------------------------------------------------------------------------------------------ preview, confirm


def test_valid_file_previews_counts_then_imports_on_confirm(client_for, world):
    client = client_for("hebin_secretary")
    rows = [a_row(姓名="赵六"), a_row(姓名="钱七")]
    people = Person.objects.count()

    response = upload(client, xlsx_upload(rows))

    assert response.status_code == 302
    preview_url = response["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200
    assert re.search(rb'data-testid="count-created">2<', page.content)
    assert Person.objects.count() == people  # the preview wrote nothing
    assert not AuditEvent.objects.filter(action="import").exists()

    done = confirm(client, preview_url)

    assert done.status_code == 302 and done["Location"] == preview_url
    assert Member.objects.filter(person__name__in=["赵六", "钱七"], org=world.hebin_branch).count() == 2
    event = AuditEvent.objects.get(action="import")
    assert event.actor == world.hebin_secretary and event.after["created"] == 2
    again = client.post(preview_url)  # a second click imports nothing more
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="import").count() == 1
    assert b'data-testid="roster-imported"' in client.get(preview_url).content


def test_bad_file_lists_every_bad_row_and_imports_nothing(client_for):
    client = client_for("hebin_secretary")
    rows = [a_row(), a_row(身份证号="330424198604051234"), a_row(), a_row(入党日期="1990-01-01")]
    people = Person.objects.count()

    preview_url = upload(client, xlsx_upload(rows))["Location"]
    page = client.get(preview_url)

    assert page.status_code == 200
    bad = [(row, [e.column for e in errors]) for row, errors in page.context["rows_with_errors"]]
    assert bad == [(3, ["身份证号"]), (5, ["入党日期"])]
    assert "身份证号校验位错误".encode() in page.content and "入党时未满18周岁".encode() in page.content
    assert b'data-testid="roster-confirm-form"' not in page.content
    assert client.post(preview_url).status_code == 302  # confirming a bad file does nothing
    assert Person.objects.count() == people
    token = page.context["token"]
    assert reverse("orgs:roster_errors", args=[token]).encode() in page.content


def test_error_report_has_every_row_with_its_reasons(client_for, world):
    client = client_for("hebin_secretary")
    rows = [a_row(姓名="甲"), a_row(姓名="乙", 身份证号="12345"), a_row(姓名="丙", 手机号="999", 入党日期="昨天")]
    preview_url = upload(client, xlsx_upload(rows))["Location"]
    token = client.get(preview_url).context["token"]

    response = client.get(reverse("orgs:roster_errors", args=[token]))

    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert unquote(response["Content-Disposition"].split("''")[1]) == "花名册-错误报告.xlsx"
    wb = workbook(response)
    data = sheet_rows(wb["导入数据"])
    assert data[0] == [*roster.HEADERS, "错误原因"]
    reasons = {r[0]: r[-1] for r in data[1:]}
    assert reasons["甲"] is None
    assert reasons["乙"].startswith("身份证号：")
    assert "手机号：手机号格式不正确" in reasons["丙"] and "入党日期：无法识别的日期" in reasons["丙"]
    listing = sheet_rows(wb["错误清单"])
    assert listing[0] == ["行号", "列", "原因", "填写内容"]
    assert [(r[0], r[1]) for r in listing[1:]] == [(3, "身份证号"), (4, "手机号"), (4, "入党日期")]
    event = AuditEvent.objects.get(action="export")
    assert event.actor == world.hebin_secretary and event.after["errors"] == 3


def test_csv_with_bom_and_gb18030_upload(client_for):
    client = client_for("hebin_secretary")
    for encoding in ("utf-8-sig", "gb18030"):
        rows = [a_row(姓名="欧阳娜娜", 入党日期="2010年7月1日", 转正日期="2011/7/1")]
        page = client.get(upload(client, csv_upload(rows, encoding))["Location"])
        assert page.context["result"].ok, (encoding, page.context["result"].errors)
        assert page.context["result"].created == 1


def test_database_change_between_preview_and_confirm_is_caught(client_for, world):
    client = client_for("hebin_secretary")
    row = a_row()
    preview_url = upload(client, xlsx_upload([row]))["Location"]
    # Meanwhile the same person becomes a member in Qinshan, outside the secretary's scope.
    person = services.person_upsert(name="赵六", id_number=row["身份证号"])
    services.member_create(person=person, org=world.qinshan_branch, join_date=dt.date(2010, 7, 1))

    confirm(client, preview_url)
    page = client.get(preview_url)

    assert page.status_code == 200
    assert [e.column for e in page.context["result"].errors] == ["身份证号"]
    assert Member.objects.get(person=person).org == world.qinshan_branch


# ------------------------------------------------------------------------------------------------ the outsider


def test_outsider_gets_404_on_someone_elses_upload(client_for):
    owner = client_for("hebin_secretary")
    preview_url = upload(owner, xlsx_upload([a_row(身份证号="1")]))["Location"]
    token = owner.get(preview_url).context["token"]
    outsider = client_for("qinshan_secretary")

    assert outsider.get(preview_url).status_code == 404
    assert outsider.post(preview_url).status_code == 404
    assert outsider.get(reverse("orgs:roster_errors", args=[token])).status_code == 404
    missing = reverse("orgs:roster_preview", args=[uuid.UUID(int=1)])
    assert outsider.get(missing).status_code == 404
    assert owner.get(missing).status_code == 404


def test_outsider_cannot_import_into_wuyuan(client_for):
    client = client_for("qinshan_secretary")
    people = Person.objects.count()

    page = client.get(upload(client, xlsx_upload([a_row(), a_row(所在党组织="海盐县/武原镇/河滨社区/河滨社区党支部")]))
                      ["Location"])

    assert [(row, [e.column for e in errors]) for row, errors in page.context["rows_with_errors"]] == [
        (2, ["所在党组织"]), (3, ["所在党组织"])]
    assert Person.objects.count() == people


# ------------------------------------------------------------------------------------------------ template


def test_template_has_headers_an_example_in_scope_and_notes(client_for):
    response = client_for("hebin_secretary").get(reverse("orgs:roster_template"))

    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "党员花名册导入模板.xlsx"
    wb = workbook(response)
    rows = sheet_rows(wb["党员花名册"])
    assert rows[0] == list(roster.HEADERS)
    example = dict(zip(rows[0], rows[1], strict=True))
    assert example["所在党组织"] == "海盐县/武原镇/河滨社区/河滨社区党支部"
    assert isinstance(example["身份证号"], str)
    assert [r[0] for r in sheet_rows(wb["填写说明"])[1:15]] == list(roster.HEADERS)
    # The example row itself imports cleanly (as a new person) for its user.
    assert roster.roster_import(rows=[example], actor=None, dry_run=True).ok


# ------------------------------------------------------------------------------------------------ export


def test_export_masks_ids_and_phones_and_is_audited(client_for, world):
    response = client_for("hebin_secretary").get(reverse("orgs:member_export"), {"status": "active"})

    rows = sheet_rows(workbook(response).active)
    assert rows[0] == list(roster.HEADERS)
    zhang = world.members["hebin_a"].person
    assert [r[0] for r in rows[1:]] == ["张建国"]  # 李秀英 is retired, 王海 is out of scope
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["身份证号"] == zhang.id_number_masked and record["手机号"] == "138****5678"
    content = b"".join(client_for("hebin_secretary").get(reverse("orgs:member_export")).streaming_content)
    assert zhang.id_number.encode() not in content
    event = AuditEvent.objects.filter(action="export").first()
    assert event.actor == world.hebin_secretary
    first = AuditEvent.objects.filter(action="export").order_by("id").first()
    assert first.after == {"filter": {"status": "active"}, "rows": 1, "unmasked_rows": 0}


def test_export_unmasked_on_request_for_those_who_may_and_says_so(client_for, world):
    response = client_for("hebin_secretary").get(reverse("orgs:member_export"), {"unmask": "1"})

    rows = sheet_rows(workbook(response).active)
    ids = {r[4] for r in rows[1:]}
    assert ids == {world.members["hebin_a"].person.id_number, world.members["hebin_b"].person.id_number}
    event = AuditEvent.objects.get(action="export")
    assert event.after["unmasked_rows"] == 2 and "完整身份证号" in event.summary


def test_exported_file_reimports_unchanged(client_for, world):
    response = client_for("county_admin").get(reverse("orgs:member_export"), {"unmask": "1"})
    data = b"".join(response.streaming_content)

    table = roster.roster_read(data, filename="export.xlsx")
    result = roster.roster_import(rows=table.rows, row_numbers=table.row_numbers, actor=world.county_admin)

    assert result.ok and result.unchanged == 3, result.errors


def test_export_uses_the_member_list_filters(client_for, world):
    client = client_for("county_admin")

    retired = sheet_rows(workbook(client.get(reverse("orgs:member_export"), {"status": "retired"})).active)
    qinshan = sheet_rows(workbook(client.get(reverse("orgs:member_export"), {"within": world.qinshan.pk})).active)
    named = sheet_rows(workbook(client.get(reverse("orgs:member_export"), {"q": "zjg"})).active)

    assert [r[0] for r in retired[1:]] == ["李秀英"]
    assert [r[0] for r in qinshan[1:]] == ["王海"]
    assert [r[0] for r in named[1:]] == ["张建国"]


def test_outsider_export_link_into_wuyuan_is_404(client_for, world):
    client = client_for("qinshan_secretary")

    assert client.get(reverse("orgs:member_export"), {"within": world.hebin.pk}).status_code == 404
    assert client.get(reverse("orgs:member_export"), {"within": 987654}).status_code == 404
    assert client.get(reverse("orgs:member_export"), {"within": "9" * 30}).status_code == 404
    own = sheet_rows(workbook(client.get(reverse("orgs:member_export"), {"unmask": "1"})).active)
    assert [r[0] for r in own[1:]] == ["王海"]
    assert not AuditEvent.objects.filter(action="export", after__rows__gt=1).exists()


def test_bad_filter_goes_back_to_the_list_with_its_errors(client_for):
    response = client_for("hebin_secretary").get(reverse("orgs:member_export"), {"age_min": "abc"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("orgs:member_list") + "?age_min=abc")
    assert not AuditEvent.objects.filter(action="export").exists()
