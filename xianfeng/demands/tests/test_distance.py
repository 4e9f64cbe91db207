"""Members browse their community's open demands by distance: from the browser's position or their household in the
grid register; demands get their position from the household (or typed coordinates). Coordinates, names, phones and
addresses never show before a claim."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from xianfeng.core.testing import make_person
from xianfeng.demands.models import Demand
from xianfeng.demands.selectors import distance_km
from xianfeng.demands.services import clean_position, demand_create
from xianfeng.grids.services import grid_create, household_create
from xianfeng.orgs import services as org_services

HOME = (30.5250, 120.9400)
NEAR = (30.5290, 120.9400)   # ≈ 0.44 km north
MID = (30.5450, 120.9400)    # ≈ 2.2 km north
FAR = (30.6250, 120.9400)    # ≈ 11 km north
SECRET_NAME, SECRET_PHONE, SECRET_ADDRESS = "司马隐私", "13987654321", "海滨东路99弄3号602室"


@pytest.fixture
def register(world):
    """A grid of 河滨社区 with households at known positions; the demo member lives at HOME."""
    grid = grid_create(org=world.hebin, name="河滨一网格")
    member_resident = org_services.resident_create(person=world.members["hebin_a"].person, org=world.hebin,
                                                   household="1-101", address="河滨路1号101")
    household_create(grid=grid, number="1-101", address="河滨路1号101", latitude=HOME[0], longitude=HOME[1],
                     people=[{"name": "张建国", "relation": "head", "resident": member_resident}])
    secret = org_services.resident_create(person=make_person(SECRET_NAME, phone=SECRET_PHONE), org=world.hebin,
                                          household="2-602", address=SECRET_ADDRESS)
    household_create(grid=grid, number="2-602", address=SECRET_ADDRESS, latitude=NEAR[0], longitude=NEAR[1],
                     people=[{"name": SECRET_NAME, "relation": "head", "resident": secret}])
    household_create(grid=grid, number="3-301", address="河滨路3号301", latitude=FAR[0], longitude=FAR[1])
    return grid, secret


@pytest.fixture
def demands(world, register):
    _grid, secret = register
    near = demand_create(org=world.hebin, category="助老", description="陪同买药", resident=secret, area="河滨北片", actor=None)
    far = demand_create(org=world.hebin, category="维修", description="修门锁", household="3-301", area="河滨远片", actor=None)
    mid = demand_create(org=world.hebin, category="维修", description="修水管", latitude=MID[0], longitude=MID[1],
                        area="河滨中片", actor=None)
    nowhere = demand_create(org=world.hebin, category="维修", description="不知道在哪", area="河滨无址片", actor=None)
    return near, mid, far, nowhere


def test_demands_take_their_position_from_the_register_or_the_typed_coordinates(demands):
    near, mid, far, nowhere = demands
    assert (near.latitude, near.longitude) == NEAR  # the resident's household row
    assert (far.latitude, far.longitude) == FAR  # the household number in the community's grids
    assert (mid.latitude, mid.longitude) == MID
    assert nowhere.latitude is None and nowhere.longitude is None


@pytest.mark.parametrize("lat,lng,field", [(91, 120, "latitude"), (30, 181, "longitude"), ("x", 120, "latitude"),
                                           (30, None, "longitude"), (None, 120, "latitude")])
def test_bad_coordinates_are_field_errors_and_write_nothing(world, lat, lng, field):
    with pytest.raises(ValidationError) as exc:
        demand_create(org=world.hebin, category="助老", description="x", latitude=lat, longitude=lng, actor=None)
    assert field in exc.value.message_dict
    assert not Demand.objects.exists()


@given(st.one_of(st.none(), st.floats(allow_nan=True), st.text(max_size=8), st.integers()),
       st.one_of(st.none(), st.floats(allow_nan=True), st.text(max_size=8), st.integers()))
def test_clean_position_accepts_only_pairs_in_range(lat, lng):
    try:
        result = clean_position(lat, lng)
    except ValidationError:
        return
    if result == (None, None):
        assert lat in (None, "") and lng in (None, "")
    else:
        assert -90 <= result[0] <= 90 and -180 <= result[1] <= 180


def _rows(body: str) -> list[str]:
    return [part.split("<")[0] for part in body.split('class="fw-semibold" href="/demands/')[1:]]


def test_board_sorts_and_filters_by_distance_from_the_members_household(world, client_for, demands):
    member = client_for("member")
    body = member.get("/demands/?sort=near").content.decode()
    places = [row.split(" · ")[1] for row in _rows(body)]
    assert places == ["河滨北片", "河滨中片", "河滨远片", "河滨无址片"]  # no position: last
    assert "0.4 km" in body and "11.1 km" in body
    body = member.get("/demands/?sort=near&km=3").content.decode()
    assert [row.split(" · ")[1] for row in _rows(body)] == ["河滨北片", "河滨中片"]
    body = member.get("/demands/?km=3&category=维修").content.decode()
    assert [row.split(" · ")[1] for row in _rows(body)] == ["河滨中片"]


def test_board_measures_from_the_browsers_position_when_given(world, client_for, demands):
    member = client_for("member")
    body = member.get(f"/demands/?sort=near&lat={FAR[0]}&lng={FAR[1]}").content.decode()
    assert [row.split(" · ")[1] for row in _rows(body)][:3] == ["河滨远片", "河滨中片", "河滨北片"]
    assert member.get(f"/demands/?lat={FAR[0]}").status_code == 200  # half a position: ignored, no 500
    assert member.get("/demands/?km=-3&lat=abc").status_code == 200


def test_api_gives_rounded_distances_and_no_coordinates(world, client_for, demands):
    r = client_for("member").get(f"/api/v1/demands/?lat={HOME[0]}&lng={HOME[1]}&sort=near&km=20")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [row["area"] for row in rows] == ["河滨北片", "河滨中片", "河滨远片"]
    assert rows[0]["distance_km"] == round(distance_km(*HOME, *NEAR), 1)
    assert all("latitude" not in row and "longitude" not in row for row in rows)
    assert client_for("member").get("/api/v1/demands/?km=abc").status_code == 400


def test_no_page_or_response_before_a_claim_shows_the_residents_details(world, client_for, demands):
    near = demands[0]
    member = client_for("member")
    responses = [member.get("/demands/"), member.get("/demands/?sort=near&km=5"),
                 member.get(f"/demands/?lat={HOME[0]}&lng={HOME[1]}"), member.get(f"/demands/{near.pk}/"),
                 member.get("/api/v1/demands/"), member.get(f"/api/v1/demands/?lat={HOME[0]}&lng={HOME[1]}"),
                 member.get(f"/api/v1/demands/{near.pk}/")]
    for response in responses:
        assert response.status_code == 200
        body = response.content.decode()
        for secret in (SECRET_NAME, SECRET_PHONE, SECRET_ADDRESS, "2-602", str(NEAR[0]), "139****"):
            assert secret not in body, (secret, response.request["PATH_INFO"])
