"""Every write to points: awards (by the organisation's rules), rules, rewards, redemptions, year-end expiry.

    points_award(member=m, source="service", source_id=record.pk, category="助老", minutes=90, satisfied=True,
                 on=record.served_on, by=user)

Balances are ledger accounts: the member's (unit point, floor 0) and, for each award, the issuing account of the
organisation whose rule applied; a redemption moves points from the member to the shop's account. Every award is one
ledger transaction keyed f"points:{source}:{source_id}", so a replay awards nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.policy import require
from xianfeng.ledger.models import Account, OwnerType, Unit
from xianfeng.ledger.models import Transaction as LedgerTransaction
from xianfeng.ledger.services import FloorCrossed, account_open, ledger_post, ledger_post_many
from xianfeng.orgs.models import Member, Organisation

from .models import Award, CardSetting, PointsRule, Redemption, Reward, YearEnd

MAX_MINUTES = 24 * 60
RULE_FIELDS = ("base_by_category", "default_base", "per_hour", "daily_cap", "yearly_cap", "satisfied_bonus",
               "year_end")


class AlreadyConfirmed(ValidationError):
    pass


class NotEnoughPoints(ValidationError):
    """The member's balance does not cover the redemption; `balance` and `price` say by how much."""

    def __init__(self, message: str, *, balance: int, price: int):
        super().__init__(message)
        self.balance = balance
        self.price = price


class OutOfStock(ValidationError):
    pass


@dataclass(frozen=True)
class Rules:
    """The rules in force for a member: a PointsRule's values, or the defaults (org is None)."""

    org: Organisation | None
    base_by_category: dict[str, int] = field(default_factory=dict)
    default_base: int = 2
    per_hour: int = 2
    daily_cap: int = 20
    yearly_cap: int = 1000
    satisfied_bonus: int = 2
    year_end: str = YearEnd.CARRY

    def points_for(self, *, category: str, minutes: int, satisfied: bool) -> int:
        """Points before caps: the category's base, whole hours' worth (pro rata, rounded down), the 满意 bonus."""
        base = int(self.base_by_category.get(category, self.default_base)) if category else 0
        return base + self.per_hour * minutes // 60 + (self.satisfied_bonus if satisfied else 0)


def rules_for(org: Organisation) -> Rules:
    """The rule of the nearest organisation at or above `org` that has one, else the defaults."""
    prefixes = [org.path[:i] for i in range(4, len(org.path) + 1, 4)]
    rule = (PointsRule.objects.select_related("org").filter(org__path__in=prefixes).order_by("-org__depth").first())
    if rule is None:
        return Rules(org=None)
    return Rules(org=rule.org, **{name: getattr(rule, name) for name in RULE_FIELDS})


def _account(*, name: str, owner_type: str, owner_id: int, org: Organisation, purpose: str = "main",
             floor: int | None = None) -> Account:
    """account_open that survives a concurrent first opening.

    account_open looks the account up, then validates the new row (full_clean checks the unique constraint with a
    SELECT), then inserts it. When another transaction commits the same account between the look-up and the
    validation, full_clean raises ValidationError instead of the IntegrityError account_open already handles —
    two members' first awards (or two first redemptions at a new shop) at the same instant failed that way. The
    account then exists and is committed: read it."""
    try:
        return account_open(name=name, owner_type=owner_type, owner_id=owner_id, unit=Unit.POINT, org=org,
                            floor=floor, purpose=purpose)
    except ValidationError:
        existing = Account.objects.filter(owner_type=owner_type, owner_id=owner_id, unit=Unit.POINT,
                                          purpose=purpose).first()
        if existing is None:
            raise
        return existing


def member_account(member: Member) -> Account:
    """The member's points account (opened on first use), floor 0."""
    return _account(name=f"{member.person.name} 积分", owner_type=OwnerType.MEMBER, owner_id=member.pk,
                    org=member.org, floor=0)


def issuing_account(org: Organisation) -> Account:
    """The organisation's points-issuing account (no floor: its balance is minus what it has issued)."""
    return _account(name=f"{org.name} 积分发放", owner_type=OwnerType.ORGANISATION, owner_id=org.pk, org=org,
                    purpose="points_issued")


def shop_account(shop: Organisation) -> Account:
    """The shop's account: points redeemed there."""
    return _account(name=f"{shop.name} 爱心超市", owner_type=OwnerType.SHOP, owner_id=shop.pk, org=shop,
                    purpose="points_shop")


def _root_of(org: Organisation) -> Organisation:
    return Organisation.objects.get(path=org.path[:4])


def award_key(source: str, source_id: Any) -> str:
    return f"points:{source}:{source_id}"


def _clean_minutes(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ValidationError({"minutes": ["时长必须是整数分钟"]})
    if minutes < 0 or minutes > MAX_MINUTES:
        raise ValidationError({"minutes": ["时长必须在 0 到 24 小时之间"]})
    return minutes


@transaction.atomic
def points_award(*, member: Member, source: str, source_id: str | int, category: str = "", minutes: int = 0,
                 satisfied: bool = False, on: dt.date, actor: Any = None) -> LedgerTransaction | None:
    """Award points to `member` for one source under the rules of the member's organisation.

    Points = the category's base + per_hour × minutes / 60 (rounded down) + the 满意 bonus, cut to what the daily
    cap (for `on`) and the yearly cap (for on's year) still allow. Posts one ledger transaction keyed
    f"points:{source}:{source_id}" (issuing account → member account). A replay of the key returns the original
    transaction and writes nothing; returns None when the caps leave nothing (nothing written).
    Awards for one member are serialised by a lock on the member's account, so caps hold under concurrency.
    Raises ValidationError for bad minutes, an empty source or a date that is not a date.
    """
    source = str(source or "").strip()
    source_id = str(source_id if source_id is not None else "").strip()
    if not source or not source_id:
        raise ValidationError({"source": ["积分来源不能为空"]})
    if len(source) > 40 or len(source_id) > 60:
        raise ValidationError({"source": ["积分来源过长"]})
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise ValidationError({"on": ["日期不正确"]})
    minutes = _clean_minutes(minutes)
    key = award_key(source, source_id)
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is not None:
        return existing

    # Serialise this member's awards: caps are read and written under a lock on the member's row, taken before
    # anything else (so also before the member's account is opened on a first award: two first awards at once
    # cannot both open it, nor both read an empty day). Lock order everywhere here: member row → member account →
    # issuing account (the ledger then locks accounts in id order; only this path holds two of them).
    Member.objects.select_for_update(no_key=True).filter(pk=member.pk).values_list("pk", flat=True).get()
    account = member_account(member)
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is not None:
        return existing

    rules = rules_for(member.org)
    wanted = rules.points_for(category=str(category or ""), minutes=minutes, satisfied=bool(satisfied))
    points = wanted
    mine = Award.objects.filter(member=member)
    if rules.daily_cap:
        today = mine.filter(on=on).aggregate(s=Coalesce(Sum("points"), 0))["s"]
        points = min(points, rules.daily_cap - today)
    if rules.yearly_cap:
        year = mine.filter(on__year=on.year).aggregate(s=Coalesce(Sum("points"), 0))["s"]
        points = min(points, rules.yearly_cap - year)
    if points <= 0:
        return None
    issuer = issuing_account(rules.org or _root_of(member.org))
    memo = f"{source}:{source_id} {category}".strip()
    txn = ledger_post(entries=[(issuer, -points), (account, points)], memo=f"积分奖励 {memo}"[:300],
                      kind="points.award", key=key, actor=actor)
    Award.objects.create(member=member, org=member.org, source=source, source_id=source_id,
                         category=str(category or "")[:20], minutes=minutes, satisfied=bool(satisfied), on=on,
                         points=points, capped=points < wanted, transaction=txn)
    return txn


def balance_of(member: Member) -> int:
    """The member's points balance (0 before the first award)."""
    return (Account.objects.filter(owner_type=OwnerType.MEMBER, owner_id=member.pk, unit=Unit.POINT, purpose="main")
            .values_list("balance", flat=True).first()) or 0


# ---- rules ------------------------------------------------------------------------------------------------------


@transaction.atomic
def points_rule_set(*, org: Organisation, actor: Any = None, **values: Any) -> PointsRule:
    """Create or change the organisation's points rule. Raises ValidationError naming bad fields.
    `actor` must be able to change `org`; None is the system (the demo command)."""
    if actor is not None:
        require(actor, "change", org, reason="只有本组织的书记或管理员可以设置积分规则")
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({"__all__": [f"未知的规则字段：{', '.join(sorted(unknown))}"]})
    base = values.get("base_by_category")
    if base is not None and (not isinstance(base, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1000 for v in base.values())):
        raise ValidationError({"base_by_category": ["各类基础分必须是 0–1000 的整数"]})
    rule = PointsRule.objects.select_for_update().filter(org=org).first()
    before = snapshot(rule) if rule else {}
    if rule is None:
        rule = PointsRule(org=org)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    after = snapshot(rule)
    b, a = changed(before, after)
    audit_record(by=actor, action="update" if before else "create", obj=rule, before=b or None, after=a,
                 summary=f"积分规则 {org.name}")
    return rule


# ---- card settings ------------------------------------------------------------------------------------------------


@transaction.atomic
def card_setting_set(*, member: Member, hide_name: bool, actor: Any = None) -> CardSetting:
    """Whether the member's name is hidden on leaderboards: the member's own choice (`actor` is the member)."""
    require(actor, "change", CardSetting(member=member))
    setting, _ = CardSetting.objects.get_or_create(member=member)
    if setting.hide_name != bool(hide_name):
        setting.hide_name = bool(hide_name)
        setting.save(update_fields=["hide_name"])
        audit_record(by=actor, action="update", obj=setting, after={"hide_name": setting.hide_name},
                     summary="积分卡隐私设置")
    return setting


# ---- rewards ------------------------------------------------------------------------------------------------------


def _clean_int(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: ["必须是整数"]}) from None
    if isinstance(value, bool) or isinstance(value, float) and value != number or not low <= number <= high:
        raise ValidationError({name: [f"必须在 {low} 到 {high} 之间"]})
    return number


@transaction.atomic
def reward_create(*, shop: Organisation, name: str, price: int, stock: int = 0, actor: Any = None) -> Reward:
    """A new item in the shop. Raises ValidationError. `actor` must be able to change the shop's organisation; None
    is the system (the demo command)."""
    if actor is not None:
        require(actor, "change", Reward(shop=shop), reason="只有本组织的书记或管理员可以管理爱心超市")
    name = str(name or "").strip()
    if not name:
        raise ValidationError({"name": ["名称不能为空"]})
    reward = Reward(shop=shop, name=name[:100], price=_clean_int(price, "price", 1, 1_000_000),
                    stock=_clean_int(stock, "stock", 0, 1_000_000))
    reward.full_clean()
    reward.save()
    audit_record(by=actor, action="create", obj=reward, after=snapshot(reward), summary=f"上架 {reward.name}")
    return reward


@transaction.atomic
def reward_restock(*, reward: Reward, add: int, actor: Any = None) -> Reward:
    """Add `add` items to the stock (a negative number takes items out, never below zero). `actor` must be able to
    change the shop; None is the system."""
    if actor is not None:
        require(actor, "change", reward, reason="只有本组织的书记或管理员可以管理爱心超市")
    add = _clean_int(add, "add", -1_000_000, 1_000_000)
    qs = Reward.objects.filter(pk=reward.pk)
    if add < 0:
        qs = qs.filter(stock__gte=-add)
    if qs.update(stock=F("stock") + add) != 1:
        raise ValidationError({"add": ["库存不能小于零"]})
    reward.refresh_from_db()
    audit_record(by=actor, action="update", obj=reward, after={"stock": reward.stock}, summary=f"库存 {add:+d}")
    return reward


@transaction.atomic
def points_redeem(*, reward: Reward, member: Member, quantity: int = 1, key: str, actor: Any = None) -> Redemption:
    """The member buys `quantity` of `reward` with points.

    The stock is taken by a conditional UPDATE (… WHERE stock >= quantity), the points by a ledger posting that
    respects the member account's floor of 0: two members redeeming the last item at once → exactly one gets it.
    The member must belong to the shop's organisation subtree.
    Replaying `key` returns the first redemption. Raises OutOfStock, NotEnoughPoints (with the balance),
    ValidationError; nothing is written then. `actor` (the shop's staff) must be able to change the shop; None is
    the system.
    """
    if actor is not None:
        require(actor, "change", reward, reason="只有本组织的书记或管理员可以办理兑换")
    key = str(key or "").strip()
    if not key or len(key) > 80:
        raise ValidationError({"key": ["幂等键不能为空，且不超过80个字符"]})
    quantity = _clean_int(quantity, "quantity", 1, 100)
    existing = Redemption.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if not Reward.objects.filter(pk=reward.pk, is_active=True).exists():
        raise OutOfStock("该物品已下架")
    paths = [member.org.path] + ([member.managing_org.path] if member.managing_org is not None else [])
    if not any(p.startswith(reward.shop.path) for p in paths):
        raise ValidationError({"member": ["该党员不属于本爱心超市服务的组织"]})
    price = reward.price * quantity
    if Reward.objects.filter(pk=reward.pk, stock__gte=quantity).update(stock=F("stock") - quantity) != 1:
        raise OutOfStock(f"{reward.name} 库存不足")
    account = member_account(member)
    try:
        with transaction.atomic():
            txn = ledger_post(entries=[(account, -price), (shop_account(reward.shop), price)],
                              memo=f"兑换 {reward.name}×{quantity}", kind="points.redeem", key=f"points:redeem:{key}",
                              actor=actor)
            redemption = Redemption.objects.create(reward=reward, member=member, quantity=quantity, points=price,
                                                   key=key, transaction=txn, by=actor if getattr(
                                                       actor, "is_authenticated", False) else None)
    except FloorCrossed:
        balance = balance_of(member)
        transaction.set_rollback(True)
        raise NotEnoughPoints(f"积分不足：余额 {balance} 分，需要 {price} 分", balance=balance, price=price) from None
    except IntegrityError:
        # The same key redeemed concurrently: the first one stands.
        transaction.set_rollback(True)
        raise ValidationError({"key": ["该兑换已提交"]}) from None
    audit_record(by=actor, action="create", obj=redemption, after=snapshot(redemption),
                 summary=f"兑换 {reward.name}×{quantity}（{price} 分）")
    return redemption


# ---- year end -----------------------------------------------------------------------------------------------------


@transaction.atomic
def points_expire_year(*, year: int, actor: Any = None) -> int:
    """At the end of `year`, the points left on the accounts of members whose rule says 年底清零 lapse back to the
    issuing account. Idempotent per member and year (key points:expire:{member}:{year}). Returns the number of
    accounts cleared. Run by the year-end job: `actor` is None (the system)."""
    accounts = list(Account.objects.filter(owner_type=OwnerType.MEMBER, unit=Unit.POINT, purpose="main",
                                           balance__gt=0).select_related("org"))
    members = {m.pk: m for m in Member.objects.filter(pk__in=[a.owner_id for a in accounts]).select_related("org")}
    keys = {a.owner_id: f"points:expire:{a.owner_id}:{year}" for a in accounts}
    done_keys = set(LedgerTransaction.objects.filter(key__in=list(keys.values())).values_list("key", flat=True))
    later = dict(Award.objects.filter(member_id__in=list(keys), on__gt=dt.date(year, 12, 31)).values("member_id")
                 .annotate(s=Sum("points")).values_list("member_id", "s").order_by())
    rule_cache: dict[int, Rules] = {}
    postings = []
    for account in accounts:
        member = members.get(account.owner_id)
        if member is None or keys[member.pk] in done_keys:
            continue
        rules = rule_cache.get(member.org_id)
        if rules is None:
            rules = rule_cache[member.org_id] = rules_for(member.org)
        if rules.year_end != YearEnd.EXPIRE:
            continue
        # Points earned after the year's end (posted before this ran) are not the year's to lose.
        amount = account.balance - later.get(member.pk, 0)
        if amount <= 0:
            continue
        issuer = issuing_account(rules.org or _root_of(member.org))
        postings.append({"entries": [(account, -amount), (issuer, amount)],
                         "memo": f"{year} 年底积分清零", "kind": "points.expire",
                         "key": keys[member.pk]})
    done = ledger_post_many(postings=postings, actor=actor) if postings else []
    if done:
        audit_record(by=actor, action="update", model="points.Award", summary=f"{year} 年底积分清零 {len(done)} 个账户")
    return len(done)
