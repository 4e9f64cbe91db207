"""The 一联双管 pilot's responsibility posts in 东海花苑社区 (demo step 550), written through the posts services.

The town's organisation officer sets up six posts; members of the new community — most of them dual-managed from their
home villages — are assigned or claim them; one of them (login `donghai_member`) records services for residents, a
resident (login `donghai_resident`) confirms two, and the community confirms one on a resident's behalf.
"""

from __future__ import annotations

import datetime as dt

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, Resident, Role, User

from . import services
from .models import Post

POSTS = [
    ("1—3幢责任区先锋岗", "1幢、2幢、3幢及北侧停车场", "走访独居老人，收集楼道、停车、绿化问题并协助物业处理；每月至少走访一次。", 2),
    ("4—6幢责任区先锋岗", "4幢、5幢、6幢及健身广场", "楼道安全巡查，邻里纠纷先行劝解，困难家庭每月走访。", 2),
    ("7—9幢责任区先锋岗", "7幢、8幢、9幢", "垃圾分类督导，协助网格员做好出租房登记。", 2),
    ("10—12幢责任区先锋岗", "10幢、11幢、12幢及南门", "新入住户走访，代办社保、医保咨询。", 2),
    ("老年活动室服务岗", "社区老年活动室", "每周二、周五下午值守，组织读报、健康讲座。", 3),
    ("平安巡逻岗", "小区全域", "夜间巡逻，电动车充电隐患排查。", 4),
]


@demo_step(550)
def build(ctx: DemoContext) -> None:
    dh = Organisation.objects.get(name="东海花苑社区")
    officer = ctx.users["wuyuan_admin"]
    start = dt.datetime(DEMO_TODAY.year, 5, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    posts = [services.post_create(actor=officer, org=dh, name=name, area=area, duties=duties, capacity=cap,
                                  at=start) for name, area, duties, cap in POSTS]
    # Dual-managed members first (the pilot's point), then the community's own.
    members = list(Member.objects.filter(managing_org__path__startswith=dh.path).exclude(status=Member.Status.LEFT)
                   .select_related("person", "org", "managing_org").order_by("id")[:9])
    members += list(Member.objects.filter(org__path__startswith=dh.path).exclude(status=Member.Status.LEFT)
                    .select_related("person", "org", "managing_org").order_by("id")[:3])
    if len(members) < 2:
        return
    # The first dual-managed member without a login of their own signs in as donghai_member.
    with_login = set(User.objects.filter(person__in=[m.person for m in members]).values_list("person_id", flat=True))
    volunteer = next(m for m in members if m.person_id not in with_login)
    others = [m for m in members if m is not volunteer]
    slot = 0
    for post in posts[1:]:
        for _ in range(min(post.capacity - 1, 2)):
            if slot >= len(others):
                break
            services.post_claim(actor=officer, post=post, member=others[slot], on=start.date() + dt.timedelta(days=slot))
            slot += 1

    # The member who signs in as donghai_member claims the first post himself and serves residents there.
    user = org_services.user_create(username="donghai_member", password=DEMO_PASSWORD, person=volunteer.person,
                                    first_name=volunteer.person.name[:150])
    org_services.role_grant(user=user, kind=Role.Kind.MEMBER, org=volunteer.managing_org or volunteer.org)
    ctx.users["donghai_member"] = user
    first = Post.objects.get(pk=posts[0].pk)
    holding = services.post_claim(actor=user, post=first, on=start.date() + dt.timedelta(days=2))

    residents = list(Resident.objects.filter(org__path__startswith=dh.path, person__user__isnull=True)
                     .select_related("person").order_by("id")[:3])
    if not residents:
        return
    resident_user = org_services.user_create(username="donghai_resident", password=DEMO_PASSWORD,
                                             person=residents[0].person, first_name=residents[0].person.name[:150])
    org_services.role_grant(user=resident_user, kind=Role.Kind.RESIDENT, org=dh)
    ctx.users["donghai_resident"] = resident_user
    done = [
        (residents[0], 6, 2, 90, "帮助独居的老人更换楼道灯泡，检查燃气灶具和热水器。"),
        (residents[0], 7, 15, 60, "陪同老人到社区卫生服务站测量血压、配药。"),
        (residents[1 % len(residents)], 8, 3, 45, "协调物业清理3幢北侧堆放的杂物，恢复消防通道。"),
        (residents[2 % len(residents)], 9, 12, 120, "上门帮助办理城乡居民医保缴费，讲解报销流程。"),
    ]
    recorded = []
    for resident, month, day, minutes, notes in done:
        at = dt.datetime(DEMO_TODAY.year, month, day, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        recorded.append(services.post_service_record(actor=user, holding=holding, served_on=at.date(),
                                                     minutes=minutes, notes=notes, resident=resident, at=at))
    services.post_service_confirm(actor=resident_user, service=recorded[0], rating="satisfied",
                                  comment="小伙子很热心，谢谢！")
    services.post_service_confirm(actor=resident_user, service=recorded[1], rating="satisfied")
    services.post_service_confirm(actor=officer, service=recorded[2], rating="fair",
                                  comment="居民电话确认，由社区代为确认。")
    ctx.log(f"posts: {len(posts)} responsibility posts in 东海花苑社区, {slot + 1} holders, {len(recorded)} services")
