"""What each kind of notification is called on the pages (the inbox, a notification, the preferences).

A kind is a stable key (`grids.closed`) that modules pass to `notify()`; people read its label. A kind without a
label here shows as its key, which the demo county's crawl (tests/crawl) refuses, and `test_kinds` checks that every
kind the code sends has one.
"""

LABELS: dict[str, str] = {
    "care.alert": "一键通告警",
    "care.alert_taken": "告警已有人响应",
    "care.low_battery": "一键通设备电量低",
    "care.visit_overdue": "关爱走访逾期",
    "demands.assigned": "需求已指派",
    "demands.claimed": "需求已被认领",
    "demands.confirmed": "服务已确认",
    "demands.lapsed": "认领已失效",
    "demands.record": "待确认的服务记录",
    "events.cancelled": "活动取消",
    "events.changed": "活动变更",
    "events.promoted": "候补转为报名成功",
    "events.reminder": "活动提醒",
    "events.team_invitation": "志愿服务队邀请",
    "grids.closed": "诉求已办结",
    "grids.dispatched": "新派诉求",
    "grids.escalated": "诉求超期升级",
    "grids.reminder": "诉求办理提醒",
    "grids.reopened": "诉求被重开",
    "grids.returned": "诉求被退回",
    "inspections.rectification": "整改任务",
    "inspections.rectification_overdue": "整改逾期",
    "ledger.check_failed": "账目核对不符",
    "orgs.link_request": "联系申请",
    "pledges.due": "承诺到期提醒",
    "posts.confirm": "待确认的岗位服务",
    "posts.confirmed": "岗位服务已确认",
}


def kind_label(kind: str) -> str:
    """The kind's label; "*" (every kind) and unknown kinds are shown as they are."""
    if kind == "*":
        return "全部类型"
    return LABELS.get(kind, kind)
