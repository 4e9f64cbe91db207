"""The card page and API, rank, leaderboards with hidden names, outsiders."""

import datetime as dt

from xianfeng.core.testing import make_member
from xianfeng.points.card import card_token, leaderboard, member_from_token, rank_in
from xianfeng.points.services import card_setting_set, points_award


def _give(member, points_hours, key):
    points_award(member=member, source="seed", source_id=key, minutes=points_hours * 60, on=dt.date(2026, 3, 1))


def test_rank_counts_the_members_of_the_community_by_balance(world):
    a, b = world.members["hebin_a"], world.members["hebin_b"]
    c = make_member("王五", world.hebin_branch)
    _give(a, 3, "a")  # 6
    _give(b, 5, "b")  # 10
    _give(c, 3, "c")  # 6
    _give(world.members["qinshan_a"], 9, "q")  # another village: not ranked here
    assert rank_in(a, world.hebin, 6) == (2, 3)
    assert rank_in(b, world.hebin, 10) == (1, 3)
    rows = leaderboard(world.hebin)
    assert [(r.rank, r.balance) for r in rows] == [(1, 10), (2, 6), (2, 6)]


def test_a_member_who_hides_appears_anonymous_on_every_board(world, client_for):
    a, b = world.members["hebin_a"], world.members["hebin_b"]
    _give(a, 3, "a")
    _give(b, 5, "b")
    member = client_for("member")
    r = member.post("/points/privacy/", {"hide_name": "on"})
    assert r.status_code == 302
    for client in (member, client_for("hebin_secretary")):
        body = client.get(f"/points/board/?org={world.hebin.pk}").content.decode()
        assert "张建国" not in body and "匿名党员" in body and "李秀英" in body
        rows = client.get(f"/api/v1/points-leaderboard/?org={world.hebin.pk}").json()["rows"]
        assert {"rank": 2, "name": "匿名党员", "balance": 6, "member": None} in rows
        assert all(row["member"] != a.pk for row in rows)
    card_setting_set(member=a, hide_name=False, actor=a.person.user)
    assert "张建国" in member.get("/points/board/").content.decode()


def test_card_page_and_api_show_balance_rank_history_and_the_qr(world, client_for):
    a = world.members["hebin_a"]
    _give(a, 3, "a")
    body = client_for("member").get("/points/").content.decode()
    assert ">6<" in body and "<svg" in body and "/points/scan/?t=" in body
    card = client_for("member").get("/api/v1/points-card/").json()
    assert (card["balance"], card["rank"], card["ranked"]) == (6, 1, 1)
    assert card["history"][0]["amount"] == 6
    assert client_for("resident").get("/api/v1/points-card/").status_code == 404
    assert "积分卡" in client_for("resident").get("/points/").content.decode()  # the page explains, no card


def test_the_qr_token_names_its_member_and_a_forged_one_nothing(world, client_for):
    a = world.members["hebin_a"]
    token = card_token(a)
    assert member_from_token(token) == a
    assert member_from_token(token[:-2] + "xx") is None and member_from_token("") is None
    assert client_for("hebin_secretary").get("/points/scan/?t=forged").status_code == 404
    assert client_for("qinshan_secretary").get(f"/points/scan/?t={token}").status_code == 404  # not their shop
    assert client_for("member").get(f"/points/scan/?t={token}").status_code == 404  # a member runs no shop


def test_leaderboard_of_another_community_is_404_for_a_member(world, client_for):
    assert client_for("member").get(f"/points/board/?org={world.qinshan_village.pk}").status_code == 404
    assert client_for("member").get(f"/api/v1/points-leaderboard/?org={world.qinshan_village.pk}"
                                    ).status_code == 404
    assert client_for("member").get("/points/board/?org=999999").status_code == 404
