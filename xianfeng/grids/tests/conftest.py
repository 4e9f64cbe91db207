"""The grids tests' small world: two categories, two grids of 河滨社区 with boundaries, households, a grid worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from xianfeng.core.testing import make_user
from xianfeng.grids import services
from xianfeng.grids.models import CaseCategory, Grid, Household
from xianfeng.orgs.models import Role

# Two squares side by side near 海盐: grid A [120.940, 120.945] × [30.520, 30.525], grid B just east of it.
LAT, LNG = 30.5225, 120.9425  # inside A
LAT_B, LNG_B = 30.5225, 120.9475  # inside B
FAR = (30.60, 121.10)  # outside every grid


def square(lng0: float, lat0: float, size: float = 0.005) -> dict:
    return {"type": "Polygon", "coordinates": [[[lng0, lat0], [lng0 + size, lat0], [lng0 + size, lat0 + size],
                                                [lng0, lat0 + size], [lng0, lat0]]]}


@pytest.fixture(autouse=True)
def _photos_in_tmp(settings, tmp_path):
    """Case photos go to a temporary folder, never to the project's var/."""
    settings.GRIDS_PHOTO_DIR = tmp_path / "photos"


@dataclass
class GridWorld:
    grid_a: Grid
    grid_b: Grid
    household: Household
    quick: CaseCategory  # 3 working days, handled by the community
    health: CaseCategory  # 13 working days, handled by the health bureau (a county department)
    same_day: CaseCategory


@pytest.fixture
def gw(world) -> GridWorld:
    hebin = world.hebin
    grid_a = services.grid_create(org=hebin, name="河滨一网格", boundary=square(120.940, 30.520))
    grid_b = services.grid_create(org=hebin, name="河滨二网格", boundary=square(120.945, 30.520))
    household = services.household_create(
        grid=grid_a, number="H001", address="河滨路1号", head_name="陈大伯", elderly_alone=True,
        people=[{"name": "陈大伯", "relation": "head", "birth_year": 1940}], latitude=LAT, longitude=LNG)
    services.household_create(grid=grid_a, number="H002", address="河滨路2号", head_name="林阿姨")
    quick = services.category_create(code="101", name="道路破损", deadline_kind="working_days", deadline_value=3,
                                      group="市政")
    health = services.category_create(code="201", name="医疗卫生投诉", deadline_kind="working_days",
                                       deadline_value=13, default_unit=world.health_bureau)
    same_day = services.category_create(code="301", name="紧急险情", deadline_kind="same_day", deadline_value=1)
    world.users["grid_worker"] = make_user("hebin_grid", Role.Kind.GRID_WORKER, hebin)
    world.users["resident2"] = make_user("resident_two", Role.Kind.RESIDENT, hebin)
    world.users["health_officer"] = make_user("health_officer", Role.Kind.SECRETARY, world.health_bureau)
    return GridWorld(grid_a, grid_b, household, quick, health, same_day)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
