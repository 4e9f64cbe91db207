"""一联双管: one definition of who counts where (orgs.selectors.MemberCounts), the same figures on the tree, the
organisation's page and the roster, each labelled."""

from __future__ import annotations

import datetime as dt

from xianfeng.core.testing import make_member
from xianfeng.orgs import services
from xianfeng.orgs.models import Member
from xianfeng.orgs.selectors import member_counts


def _dual_world(world):
    """河滨社区: two members of its own branch and one of 杨柳村 managed there; a third own member has left."""
    services.member_set_managing_org(member=world.members["qinshan_a"], org=world.hebin_branch, on=dt.date(2026, 5, 1))
    gone = make_member("周离开", world.hebin_branch)
    Member.objects.filter(pk=gone.pk).update(status=Member.Status.LEFT)


def _roster_count(client, query: str) -> int:
    return client.get(f"/orgs/members/?{query}").context["page"].paginator.count


def test_the_tree_the_page_and_the_roster_agree(world, client_for):
    _dual_world(world)
    counts = member_counts([world.hebin, world.qinshan_village, world.wuyuan])
    assert (counts[world.hebin.pk].own, counts[world.hebin.pk].dual, counts[world.hebin.pk].total) == (2, 1, 3)
    assert (counts[world.qinshan_village.pk].own, counts[world.qinshan_village.pk].dual) == (1, 0)
    assert counts[world.wuyuan.pk].total == 3  # 武原镇 holds 河滨社区's own two and the one managed there

    c = client_for("county_admin")
    [node] = [n for n in c.get(f"/orgs/{world.wuyuan.pk}/children/").context["nodes"] if n.pk == world.hebin.pk]
    page = c.get(f"/orgs/{world.hebin.pk}/")
    assert node.member_count == page.context["members"].total == 3
    html = page.content.decode()
    assert 'data-testid="member-split"' in html
    assert _roster_count(c, f"within={world.hebin.pk}&current=1") == 3
    assert _roster_count(c, f"org={world.hebin.pk}&current=1") == 2
    assert _roster_count(c, f"dual={world.hebin.pk}&current=1") == 1
    # the branch's own list: its two own members and the one it manages, not the one who left
    assert page.context["page"].paginator.count == 0  # the community itself has no members of its own
    branch = c.get(f"/orgs/{world.hebin_branch.pk}/")
    assert branch.context["page"].paginator.count == 3 == branch.context["members"].total


def test_a_bad_dual_filter_is_a_form_error_not_a_500(world, client_for):
    c = client_for("county_admin")
    assert c.get("/orgs/members/?dual=abc").status_code in (200, 400)
    assert c.get("/api/v1/members/?dual=abc").status_code == 400
