"""Hostile roster uploads on the web page and the command: each gets a clear message and nothing changes; the real
work runs in the worker with its progress on the preview page."""

import re
import resource

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from xianfeng.core.models import AuditEvent
from xianfeng.core.tests import hostile
from xianfeng.jobs.models import Job
from xianfeng.orgs.models import Member, Person
from xianfeng.orgs.tests.test_roster_views import a_row, run_jobs, xlsx_upload


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.ROSTER_UPLOAD_DIR = tmp_path / "uploads"


def _state():
    return Person.objects.count(), Member.objects.count(), AuditEvent.objects.filter(action="import").count()


REFUSED_AT_THE_DOOR = {
    "dimension_trick": "1,048,576 行",
    "corner_cells": "超过上限",
    "million_empty_rows": "超过上限 250,000 行",
    "csv_named_xlsx": "不是 .xlsx 工作簿",
    "old_xls": "旧版 .xls",
    "xls_named_xlsx": "旧版 .xls",
    "zip_bomb": "解压后超过",
    "lying_zip_bomb": "解压后超过|损坏",
    "png_named_xlsx": "不是有效的 .xlsx",
}


@pytest.mark.parametrize("name", sorted(REFUSED_AT_THE_DOOR))
def test_hostile_files_are_refused_with_a_reason_and_nothing_changes(client_for, name):
    filename, builder = hostile.HOSTILE_ROSTERS[name]
    client = client_for("hebin_secretary")
    before, rss = _state(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    response = client.post(reverse("orgs:roster_import"), {"file": SimpleUploadedFile(filename, builder())})

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["file"])
    assert re.search(REFUSED_AT_THE_DOOR[name], errors), errors
    assert not Job.objects.filter(name="orgs.roster_run").exists()
    assert _state() == before
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024 < 200  # MB
    assert client.get(reverse("orgs:roster_import")).status_code == 200  # and the site still answers


def test_an_oversize_file_is_refused(client_for, settings):
    settings.ROSTER_UPLOAD_MAX_BYTES = 1024 * 1024
    before = _state()
    response = client_for("hebin_secretary").post(
        reverse("orgs:roster_import"), {"file": SimpleUploadedFile("big.csv", hostile.oversize(900 * 1024) * 2)})
    assert response.status_code == 400 and _state() == before


def test_formulas_reach_the_worker_and_come_back_as_reasons(client_for):
    client = client_for("hebin_secretary")
    before = _state()
    filename, builder = hostile.HOSTILE_ROSTERS["formulas"]

    preview = client.post(reverse("orgs:roster_import"), {"file": SimpleUploadedFile(filename, builder())})
    run_jobs()
    page = client.get(preview["Location"])

    assert page.status_code == 200
    assert "第3行“姓名”列的内容以“=”开头（公式）".encode() in page.content
    assert _state() == before


def test_the_preview_shows_the_workers_progress_until_it_is_done(client_for, world):
    client = client_for("hebin_secretary")
    preview_url = client.post(reverse("orgs:roster_import"), {"file": xlsx_upload([a_row(姓名="孙八")])})["Location"]

    waiting = client.get(preview_url)
    assert waiting.status_code == 200 and b'data-testid="roster-progress"' in waiting.content
    assert b'hx-trigger="every 1s"' in waiting.content
    poll = client.get(preview_url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and b"<html" not in poll.content and b"roster-progress" in poll.content
    assert client.post(preview_url).status_code == 302  # "import" before the check is done does nothing
    token = preview_url.rstrip("/").rsplit("/", 1)[1]
    assert client.get(reverse("orgs:roster_errors", args=[token])).status_code == 404  # no report yet
    assert not Member.objects.filter(person__name="孙八").exists()

    run_jobs()
    done = client.get(preview_url, HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    assert b'data-testid="count-created">1<' in client.get(preview_url).content

    client.post(preview_url)
    assert b'data-testid="roster-progress"' in client.get(preview_url).content  # importing, in the worker
    run_jobs()
    assert Member.objects.filter(person__name="孙八", org=world.hebin_branch).exists()
    imported = client.get(preview_url).content.decode()
    assert 'data-testid="roster-imported"' in imported and "新增 1" in imported


def test_a_job_that_fails_says_so_on_the_page(client_for, monkeypatch):
    from xianfeng.orgs import roster

    client = client_for("hebin_secretary")
    preview_url = client.post(reverse("orgs:roster_import"), {"file": xlsx_upload([a_row()])})["Location"]

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(roster, "roster_import", broken)
    run_jobs()
    page = client.get(preview_url)
    assert page.status_code == 200 and b'data-testid="roster-failed"' in page.content


@pytest.mark.parametrize("name", ["dimension_trick", "corner_cells", "million_empty_rows", "csv_named_xlsx"])
def test_the_command_refuses_them_too(tmp_path, name):
    filename, builder = hostile.HOSTILE_ROSTERS[name]
    path = tmp_path / filename
    path.write_bytes(builder())
    with pytest.raises(CommandError, match=filename):
        call_command("import_roster", str(path))
