import pytest
from django.urls import reverse

from xianfeng.jobs.models import Job
from xianfeng.jobs.services import job_claim, job_fail, job_schedule
from xianfeng.jobs.tests import jobs_for_tests  # noqa: F401


@pytest.fixture
def parked(db):
    job = job_schedule(name="tests.record", max_attempts=1)
    job_fail(job=job_claim(worker_id="w"), worker_id="w", error="Traceback: the gateway said no")
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("persona", ["wuyuan_admin", "hebin_secretary", "member", "inspector"])
def test_only_system_admins_see_the_queue(client_for, parked, persona):
    client = client_for(persona)
    assert client.get(reverse("jobs:list")).status_code == 404
    assert client.get(reverse("jobs:detail", args=[parked.pk])).status_code == 404
    assert client.post(reverse("jobs:retry", args=[parked.pk])).status_code == 404
    assert client.get("/api/v1/jobs/").json()["count"] == 0


def test_county_admin_sees_a_parked_job_with_its_error(client_for, parked):
    client = client_for("county_admin")
    page = client.get(reverse("jobs:list"))
    assert page.status_code == 200 and "the gateway said no" in page.content.decode()
    detail = client.get(reverse("jobs:detail", args=[parked.pk]))
    assert "Traceback: the gateway said no" in detail.content.decode()
    assert client.get("/api/v1/jobs/?status=parked").json()["count"] == 1


def test_county_admin_runs_a_parked_job_again(client_for, parked):
    response = client_for("county_admin").post(reverse("jobs:retry", args=[parked.pk]))
    assert response.status_code == 302
    parked.refresh_from_db()
    assert parked.status == Job.Status.PENDING


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(reverse("jobs:list")).status_code == 302
