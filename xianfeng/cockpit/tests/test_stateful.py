"""Rollups equal live counts after any sequence of writes through the services, once the worker's job has run."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule

from xianfeng.cockpit import metrics
from xianfeng.core.scoping import clear_scope_cache
from xianfeng.core.testing import make_member
from xianfeng.events import services as events
from xianfeng.grids import services as grids
from xianfeng.orgs import services as orgs
from xianfeng.orgs.models import Organisation

from .conftest import close_case, member_pledge, member_user, pledge_round, square
from .live import direct, rolled

_names = itertools.count()


@pytest.mark.django_db
def test_rollups_equal_live_counts_after_random_operations(world):
    county = world

    class Rollups(RuleBasedStateMachine):
        members = Bundle("members")
        drafts = Bundle("drafts")
        cases = Bundle("cases")

        @initialize()
        def start(self):
            metrics.rebuild()
            self.branches = [county.hebin_branch, county.qinshan_branch]
            self.villages = [county.hebin, county.qinshan_village]
            self.category = grids.category_create(code=f"C{next(_names)}", name="道路破损",
                                                  deadline_kind="working_days", deadline_value=3)
            now = timezone.now()
            self.lessons = [events.activity_create(org=branch, kind="lesson", title="党课", lecturer="书记",
                                                   starts_at=now - dt.timedelta(hours=1),
                                                   ends_at=now + dt.timedelta(hours=1), actor=county.county_admin)
                            for branch in self.branches]
            self.households = []
            for i, village in enumerate(self.villages):
                grid = grids.grid_create(org=village, name=f"网格{next(_names)}", boundary=square(121 + i, 30))
                self.households.append(grids.household_create(grid=grid, number=f"H{next(_names)}", address="1号"))

        @rule(target=members, branch=st.integers(0, 1))
        def create_member(self, branch):
            return make_member(f"党员{next(_names)}", self.branches[branch])

        @rule(member=members, branch=st.integers(0, 1))
        def transfer_member(self, member, branch):
            member.refresh_from_db()
            target = self.branches[branch]
            if member.org_id != target.pk:
                orgs.member_transfer(member=member, to_org=target, on=timezone.localdate(), actor=county.county_admin)

        @rule(target=drafts, member=members, submit=st.booleans())
        def make_pledge(self, member, submit):
            member.refresh_from_db()
            county.members[f"m{member.pk}"] = member
            user = member_user(county, f"m{member.pk}")
            pledge = member_pledge(pledge_round(county), member, user, county.county_admin,
                                   to="submitted" if submit else "draft")
            return (pledge, user)

        @rule(draft=consumes(drafts))
        def fulfil_pledge(self, draft):
            from xianfeng.pledges import services as pledges

            pledge, user = draft
            pledge.refresh_from_db()
            if pledge.status == "draft":
                pledges.pledge_submit(pledge=pledge, actor=user)
            pledges.pledge_approve(pledge=pledge, actor=county.county_admin)
            pledges.pledge_publish(pledge=pledge, actor=county.county_admin)
            pledges.pledge_claim(pledge=pledge, evidence="已完成承诺事项", actor=user)
            pledges.pledge_confirm(pledge=pledge, actor=county.county_admin)

        @rule(member=members, lesson=st.integers(0, 1))
        def check_in(self, member, lesson):
            events.attendance_check_in(activity=self.lessons[lesson], person=member.person, method="manual",
                                       actor=county.county_admin)

        @rule(household=st.integers(0, 1))
        def visit(self, household):
            grids.visit_record(household=self.households[household], date=timezone.localdate(), notes="走访",
                               actor=county.county_admin)

        @rule(town=st.integers(0, 1))
        def move_community(self, town):
            """Re-parent 河滨社区 (with its branch, members and records) under the other town."""
            orgs.org_move(org=county.hebin, new_parent=[county.wuyuan, county.qinshan][town], actor=county.county_admin)
            for user in county.users.values():
                clear_scope_cache(user)

        @rule(target=cases, village=st.integers(0, 1))
        def open_case(self, village):
            return (grids.case_open(category=self.category, description="路灯坏了", actor=None, source="staff",
                                    org=self.villages[village], address="河滨路8号"), village)

        @rule(case=consumes(cases))
        def close_case(self, case):
            case, village = case
            handler = [county.hebin_secretary, county.qinshan_secretary][village]
            close_case(case, handler, county.county_admin)

        @invariant()
        def rollups_equal_live_counts_after_the_job(self):
            metrics.refresh()
            for org in Organisation.objects.order_by("path"):  # paths as they are now, after any move
                expected = direct(org)
                got = rolled(org)
                assert {k: got[k] for k in expected} == expected, org.name

    Rollups.TestCase.settings = settings(max_examples=6, stateful_step_count=12, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    Rollups.TestCase().runTest()
