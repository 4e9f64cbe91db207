"""责任区先锋服务岗 in a browser: the secretary sets up a post, a member claims it on a phone and records a service for a
resident, the resident confirms it, and the points reach the member's card; the public board shows the holder."""

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.testing import make_person, make_user
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Role
from xianfeng.posts.models import PostService

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_claims_a_post_records_a_service_and_the_resident_confirms(world, live_server, open_page, sign_in):
    person = make_person("赵阿姨", gender="F", phone="13905730001")
    resident = org_services.resident_create(person=person, org=world.hebin, address="3幢2单元101")
    make_user("zhao_ayi", Role.Kind.RESIDENT, world.hebin, person=person)

    secretary = open_page("desktop")
    sign_in(secretary, "hebin_secretary")
    secretary.goto(live_server.url + reverse("posts:create"))
    secretary.select_option("#id_org", str(world.hebin.pk))
    secretary.fill("#id_name", "1—3幢责任区先锋岗")
    secretary.fill("#id_area", "1幢、2幢、3幢")
    secretary.fill("#id_duties", "走访独居老人，收集楼道问题。")
    secretary.fill("#id_capacity", "2")
    secretary.click("button:has-text('保存')")
    secretary.wait_for_selector("[data-testid=places]")
    post_url = secretary.url

    member = open_page("phone")
    sign_in(member, world.users["member"].username)
    member.goto(live_server.url + reverse("posts:list"))
    member.click("text=1—3幢责任区先锋岗")
    member.click("[data-testid=claim]")
    member.wait_for_selector("[data-testid=record-form]")
    assert "1 / 2" in member.inner_text("[data-testid=places]")
    member.fill("#id_served_on", timezone.localdate().isoformat())
    member.fill("#id_minutes", "90")
    member.fill("#id_notes", "更换楼道灯泡，检查燃气：一切正常。")
    member.select_option("#id_resident", str(resident.pk))
    member.click("[data-testid=record-form] button")
    member.wait_for_selector("[data-testid=services] li a")
    service = PostService.objects.get()
    assert service.notes == "更换楼道灯泡，检查燃气：一切正常。"

    res = open_page("phone")
    sign_in(res, "zhao_ayi")
    res.goto(live_server.url + reverse("posts:list"))
    res.click("[data-testid=to-confirm] a")
    res.check("input[name=rating][value=satisfied]")
    res.click("[data-testid=confirm-form] button")
    res.wait_for_selector("text=谢谢，服务已确认。")
    service.refresh_from_db()
    assert service.status == "confirmed" and service.points > 0
    assert "已确认" in res.inner_text("[data-testid=status]")

    secretary.goto(post_url)
    assert "已确认 1 次" in secretary.inner_text("[data-testid=figures]")
    visitor = open_page("phone")
    visitor.goto(live_server.url + reverse("posts:board", args=[world.hebin.pk]))
    assert world.members["hebin_a"].person.name in visitor.inner_text("[data-testid=board]")
