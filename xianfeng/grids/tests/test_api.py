"""/api/v1/grids/ and /api/v1/cases/: scope, opening, transitions with reasons."""

from xianfeng.grids.models import Case

from .conftest import LAT, LNG


def test_a_resident_opens_a_case_and_staff_move_it_along(gw, world, client_for):
    resident = client_for("resident")
    response = resident.post("/api/v1/cases/", {"category": "101", "description": "井盖缺失", "latitude": LAT,
                                                "longitude": LNG}, content_type="application/json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["status"] == "dispatched"
    worker = client_for("grid_worker")
    response = worker.post(f"/api/v1/cases/{pk}/transition/", {"action": "accept"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    response = worker.post(f"/api/v1/cases/{pk}/transition/", {"action": "close", "outcome": "resolved"},
                           content_type="application/json")
    assert response.status_code == 404  # a grid worker has no part in closing
    response = client_for("hebin_secretary").post(f"/api/v1/cases/{pk}/transition/", {"action": "close",
                                                  "outcome": "resolved"}, content_type="application/json")
    assert response.status_code == 400 and "已签收" in str(response.json())
    assert resident.get(f"/api/v1/cases/{pk}/").status_code == 200


def test_bad_input_is_a_field_error(gw, world, client_for):
    client = client_for("hebin_secretary")
    response = client.post("/api/v1/cases/", {"category": "999", "description": "", "bogus": 1},
                           content_type="application/json")
    assert response.status_code == 400 and {"category", "description", "bogus"} <= set(response.json())
    response = client.post("/api/v1/cases/", {"category": "101", "description": "x"},
                           content_type="application/json")
    assert response.status_code == 400 and "location" in response.json()
    assert not Case.objects.exists()


def test_outsiders_get_404_and_see_nothing(gw, world, client_for):
    client_for("resident").post("/api/v1/cases/", {"category": "101", "description": "井盖缺失", "latitude": LAT,
                                                   "longitude": LNG}, content_type="application/json")
    case = Case.objects.get()
    outsider = client_for("qinshan_secretary")
    assert outsider.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/cases/{case.pk}/transition/", {"action": "accept"},
                         content_type="application/json").status_code == 404
    assert outsider.get("/api/v1/cases/").json()["count"] == 0
    assert outsider.get(f"/api/v1/grids/{gw.grid_a.pk}/").status_code == 404
    assert client_for("hebin_secretary").get("/api/v1/grids/").json()["count"] == 2
    assert client_for("hebin_secretary").get("/api/v1/cases/").json()["count"] == 1
