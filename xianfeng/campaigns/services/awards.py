"""Award rounds (1+9 先锋群评创): categories, nominations, public votes, committee scores, publicity, results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.ids import normalise_text, parse_phone
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Member, Organisation, Person, Role

from ..models import (
    AwardCategory,
    AwardRound,
    CommitteeScore,
    Nomination,
    Objection,
    Vote,
)
from .common import _in_subtree, _now, _require, logger

DEFAULT_CATEGORIES: list[tuple[str, str, str, int]] = [  # (code, name, nominee kind, quota): 1 + 9
    ("advanced_org", "先进基层党组织", "organisation", 10),
    ("innovation", "务实创新先锋", "member", 10),
    ("prosperity", "强村富民先锋", "member", 10),
    ("harmony", "文明和谐先锋", "member", 10),
    ("service", "为民服务先锋", "member", 10),
    ("enterprise", "创业创新先锋", "member", 10),
    ("integrity", "廉洁自律先锋", "member", 10),
    ("volunteer", "志愿服务先锋", "member", 10),
    ("grid", "网格管理先锋", "member", 10),
    ("youth", "青春建功先锋", "member", 10),
]


class VoteRefused(PermissionDenied):
    """A vote the round does not take: outside the window, by someone who is not a registered resident."""

    def __init__(self, message: str, round: AwardRound | None = None):
        super().__init__(message)
        self.message = message
        self.round = round


class AlreadyVoted(Exception):
    """The voter (this account, or another account of the same person) already voted in this category."""


class RateLimited(Exception):
    """Too many votes from one address in the last hour."""


class ResultsHidden(PermissionDenied):
    """Vote counts are secret until the voting window closes."""


@transaction.atomic
def award_round_create(*, org: Organisation, name: str, vote_start: dt.datetime, vote_end: dt.datetime,
                       categories: list[tuple[str, str, str, int]] | None = None, vote_weight: int = 40,
                       publicity_days: int = 7, votes_per_ip_per_hour: int = 300, actor: Any) -> AwardRound:
    """A round with its categories, each (code, name, nominee kind, quota) (default: 先进基层党组织 + 9 pioneer
    categories), the vote window, the public vote's weight (%) in the final score, the publicity days. The actor
    administers `org`."""
    _require(actor, "admin", org)
    if vote_end <= vote_start:
        raise ValidationError({"vote_end": ["评议结束时间须晚于开始时间"]})
    if not isinstance(vote_weight, int) or not 0 <= vote_weight <= 100:
        raise ValidationError({"vote_weight": ["权重须在0到100之间"]})
    if not isinstance(publicity_days, int) or not 1 <= publicity_days <= 60:
        raise ValidationError({"publicity_days": ["公示天数须在1到60之间"]})
    if not isinstance(votes_per_ip_per_hour, int) or votes_per_ip_per_hour < 0:
        raise ValidationError({"votes_per_ip_per_hour": ["须为非负整数"]})
    rows = list(categories if categories is not None else DEFAULT_CATEGORIES)
    if not rows:
        raise ValidationError({"categories": ["至少设置一个类别"]})
    if len({str(code) for code, *_ in rows}) != len(rows):
        raise ValidationError({"categories": ["类别代码不能重复"]})
    award = AwardRound(org=org, name=clean_text(name, "name", 200), vote_start=vote_start, vote_end=vote_end,
                       vote_weight=vote_weight, publicity_days=publicity_days,
                       votes_per_ip_per_hour=votes_per_ip_per_hour)
    award.full_clean()
    award.save()
    for i, (code, cname, kind, quota) in enumerate(rows):
        category = AwardCategory(round=award, code=code, name=clean_text(cname, "categories", 100), nominee_kind=kind,
                                 quota=quota, order=i)
        if not isinstance(quota, int) or quota < 1:
            raise ValidationError({"categories": [f"类别“{category.name}”的名额须为正整数"]})
        try:
            category.full_clean(exclude=["round"])
        except ValidationError as exc:
            raise ValidationError({"categories": [f"类别“{category.name}”：{'；'.join(exc.messages)}"]}) from None
        category.save()
    audit_record(by=actor, action="create", obj=award, after=snapshot(award), summary=f"新建评创 {award.name}")
    return award


def platform_evidence(org: Organisation) -> dict[str, dict[str, Any]]:
    """The organisation's figures from every registered rate, {key: {label, x, n}} — the nomination's evidence."""
    from xianfeng.core.rates import org_rates

    evidence: dict[str, dict[str, Any]] = {}
    for key, rate in org_rates().items():
        try:
            with transaction.atomic():  # a savepoint: a failing provider must not spoil the caller's transaction
                x, n = rate.compute([org]).get(org.pk, (0, 0))
        except Exception:  # another module's provider failing must not block a nomination
            logger.exception("rate %s failed for organisation %s", key, org.pk)
            continue
        if n:
            evidence[key] = {"label": rate.label, "x": x, "n": n}
    return evidence


@transaction.atomic
def nomination_create(*, category: AwardCategory, nominated_by: Organisation, citation: str,
                      nominee_org: Organisation | None = None, nominee_member: Member | None = None,
                      now: dt.datetime | None = None, evidence: dict | None = None, actor: Any) -> Nomination:
    """An organisation nominates a unit or member of its own subtree, before the vote opens. The evidence is taken
    from the platform's figures for the nominee's organisation unless given (the demo's bulk path gives it). The
    actor may change the nominating organisation, which lies in the round's subtree."""
    _require(actor, "change", nominated_by)
    award = category.round
    if not _in_subtree(nominated_by, award.org):
        raise ValidationError({"nominated_by": ["推荐单位不在本评创范围内"]})
    if award.status != AwardRound.Status.NOMINATING or _now(now) >= award.vote_start:
        raise ValidationError({"category": ["推荐已截止"]})
    if category.nominee_kind == AwardCategory.NomineeKind.ORGANISATION:
        if nominee_org is None or nominee_member is not None:
            raise ValidationError({"nominee_org": ["本类别推荐组织"]})
        subject, name = nominee_org, nominee_org.name
    else:
        if nominee_member is None or nominee_org is not None:
            raise ValidationError({"nominee_member": ["本类别推荐党员"]})
        subject, name = nominee_member.org, nominee_member.person.name
    if not _in_subtree(subject, nominated_by):
        raise ValidationError({"nominee": ["只能推荐本组织范围内的组织或党员"]})
    duplicate = Nomination.objects.filter(category=category, nominee_org=nominee_org, nominee_member=nominee_member)
    if duplicate.exists():
        raise ValidationError({"nominee": ["已被推荐"]})
    nomination = Nomination(category=category, nominated_by=nominated_by, nominee_org=nominee_org,
                            nominee_member=nominee_member, display_name=name,
                            citation=clean_text(citation, "citation", 5000, multiline=True),
                            evidence=evidence if evidence is not None else platform_evidence(subject))
    nomination.full_clean()
    nomination.save()
    audit_record(by=actor, action="create", obj=nomination, summary=f"推荐 {name}（{category.name}）")
    return nomination


@transaction.atomic
def award_round_open_voting(*, award: AwardRound, actor: Any) -> AwardRound:
    """Close nominations: the round shows its nominees and takes votes inside its window."""
    _require(actor, "admin", award)
    if AwardRound.objects.filter(pk=award.pk, status=AwardRound.Status.NOMINATING).update(
            status=AwardRound.Status.VOTING) != 1:
        raise ValidationError({"status": ["评创不在推荐阶段"]})
    award.refresh_from_db()
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 开始群众评议")
    return award


def is_registered_resident(user: Any) -> bool:
    """A signed-in user with a resident role, or whose person is on a residents' roll."""
    if not getattr(user, "is_authenticated", False):
        return False
    if Role.objects.filter(user=user, kind=Role.Kind.RESIDENT).exists():
        return True
    return bool(user.person_id) and Person.objects.filter(pk=user.person_id, resident__isnull=False).exists()


def window_text(award: AwardRound) -> str:
    start = timezone.localtime(award.vote_start)
    end = timezone.localtime(award.vote_end)
    return f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"


def vote_cast(*, nomination: Nomination, user: Any, ip: str | None = None, now: dt.datetime | None = None) -> Vote:
    """One vote by a registered resident for `nomination` inside the round's window.

    Raises VoteRefused (outside the window, not a resident, round not open), RateLimited (too many votes from one
    address this hour), AlreadyVoted (one per account and one per person in each category — so a second account of
    the same person cannot vote again).

    The window and the nomination's state are checked on the objects in hand; everything else is one INSERT … SELECT
    (`_insert_vote`): it inserts only if the voter is a registered resident and the address is under its hourly limit,
    and the unique indexes decide "one vote" (ON CONFLICT DO NOTHING). On PostgreSQL the vote and its audit row are one
    statement; elsewhere two, in one transaction. Only a refused vote costs further queries, to say why. Concurrent
    votes from one address may pass its limit by at most the number of them in flight (the limit is a brake, the
    unique indexes are the rule).
    """
    now = _now(now)
    category = nomination.category
    award = category.round
    if award.status != AwardRound.Status.VOTING or not award.vote_start <= now < award.vote_end:
        raise VoteRefused(f"评议时间为 {window_text(award)}", award)
    if not getattr(user, "is_authenticated", False):
        raise VoteRefused("只有登记的居民可以参加评议", award)
    if nomination.status != Nomination.Status.NOMINATED:
        raise VoteRefused("该推荐对象不在评议之列", award)
    limit = award.votes_per_ip_per_hour if ip else 0
    vote_id = _insert_vote(category_id=category.pk, nomination_id=nomination.pk, user_id=user.pk,
                           person_id=user.person_id, ip=ip, now=now, limit=limit,
                           summary=f"评议投票 {category.name}"[:300])
    if vote_id is None:  # say why, most common reason first
        who = Q(voter=user) | Q(person_id=user.person_id) if user.person_id else Q(voter=user)
        if Vote.objects.filter(who, category=category).exists():
            raise AlreadyVoted(category.pk)
        if not is_registered_resident(user):
            raise VoteRefused("只有登记的居民可以参加评议", award)
        if limit and Vote.objects.filter(ip=ip, at__gte=now - dt.timedelta(hours=1)).count() >= limit:
            raise RateLimited(ip)
        raise AlreadyVoted(category.pk)
    return Vote(pk=vote_id, category=category, nomination=nomination, voter=user, person_id=user.person_id, ip=ip,
                at=now)


def _vote_sql(vendor: str, with_limit: bool) -> tuple[str, str]:
    """(the vote's INSERT … SELECT, the audit row's INSERT) for the backend; cached per (vendor, with_limit)."""
    key = (vendor, with_limit)
    if key not in _VOTE_SQL:
        from django.db import connection

        from xianfeng.core.models import AuditEvent
        from xianfeng.orgs.models import Resident

        q = connection.ops.quote_name
        vote, role, resident = (q(m._meta.db_table) for m in (Vote, Role, Resident))
        audit = q(AuditEvent._meta.db_table)
        # PostgreSQL types the parameters of a SELECT list only when told (NULL and text would not fit).
        pg = vendor == "postgresql"
        ip, person, at = (("CAST(%(ip)s AS inet)", "CAST(%(person)s AS bigint)", "CAST(%(at)s AS timestamptz)")
                          if pg else ("%(ip)s", "%(person)s", "%(at)s"))
        # The table names come from the models' metadata, quoted; every value is a parameter.
        limit = (f" AND (SELECT COUNT(*) FROM (SELECT 1 FROM {vote} WHERE ip = {ip} AND at >= %(since)s "  # noqa: S608
                 f"LIMIT %(limit)s) recent) < %(limit)s") if with_limit else ""
        insert = (f"INSERT INTO {vote} (category_id, nomination_id, voter_id, person_id, ip, at) "  # noqa: S608
                  f"SELECT %(category)s, %(nomination)s, %(voter)s, {person}, {ip}, {at} "
                  f"WHERE (EXISTS (SELECT 1 FROM {role} WHERE user_id = %(voter)s AND kind = 'resident') "
                  f"OR EXISTS (SELECT 1 FROM {resident} WHERE person_id = {person})){limit} "
                  f"ON CONFLICT DO NOTHING RETURNING id")
        columns = f"INSERT INTO {audit} (at, actor_id, action, model, object_id, summary, ip) "
        if pg:
            _VOTE_SQL[key] = (f"WITH v AS ({insert}) {columns}SELECT {at}, %(voter)s, 'create', "  # noqa: S608
                              f"'campaigns.Vote', v.id::text, CAST(%(summary)s AS text), {ip} FROM v "
                              f"RETURNING object_id", "")
        else:
            _VOTE_SQL[key] = (insert, f"{columns}VALUES (%(at)s, %(voter)s, 'create', 'campaigns.Vote', %(id)s, "
                                      f"%(summary)s, %(ip)s)")
    return _VOTE_SQL[key]

_VOTE_SQL: dict[tuple[str, bool], tuple[str, str]] = {}


def _insert_vote(*, category_id: int, nomination_id: int, user_id: int, person_id: int | None, ip: str | None,
                 now: dt.datetime, limit: int, summary: str) -> int | None:
    """Insert the vote (and its audit row) if the rules let it in; its id, or None when it was not inserted."""
    from django.db import connection

    at = connection.ops.adapt_datetimefield_value(now)
    params = {"category": category_id, "nomination": nomination_id, "voter": user_id, "person": person_id,
              "ip": connection.ops.adapt_ipaddressfield_value(ip) if ip else None, "at": at, "limit": limit,
              "since": connection.ops.adapt_datetimefield_value(now - dt.timedelta(hours=1)), "summary": summary}
    vote_sql, audit_sql = _vote_sql(connection.vendor, bool(limit))
    if connection.vendor == "postgresql":
        # One statement is its own transaction (or part of the caller's); a server-side prepared statement on the
        # driver's connection skips parsing and planning it again for every vote.
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(vote_sql, params, prepare=True)
            row = cursor.fetchone()
        return None if row is None else int(row[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(vote_sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        vote_id = int(row[0])
        cursor.execute(audit_sql, {**params, "id": str(vote_id)})
    return vote_id


def voted_categories(award: AwardRound, user: Any) -> dict[int, int]:
    """{category id: nomination id} the user (or another account of the same person) voted for in this round."""
    if not getattr(user, "is_authenticated", False):
        return {}
    who = Q(voter=user)
    if user.person_id:
        who |= Q(person_id=user.person_id)
    return dict(Vote.objects.filter(who, category__round=award).values_list("category_id", "nomination_id"))


@transaction.atomic
def committee_score(*, nomination: Nomination, score: int, actor: Any) -> CommitteeScore:
    """One committee member's (the actor's: an administrator or inspector over the round) score 0–100 for a nomination, during
    voting or scoring; once per scorer."""
    from ..policies import require_scorer

    award = nomination.category.round
    require_scorer(actor, award)
    if award.status not in (AwardRound.Status.VOTING, AwardRound.Status.SCORING):
        raise ValidationError({"score": ["当前不在评审阶段"]})
    if not isinstance(score, int) or not 0 <= score <= 100:
        raise ValidationError({"score": ["评分须为0到100的整数"]})
    try:
        with transaction.atomic():
            row = CommitteeScore.objects.create(nomination=nomination, scorer=actor, score=score)
    except IntegrityError:
        raise ValidationError({"score": ["已评分"]}) from None
    audit_record(by=actor, action="create", obj=row, summary=f"评审打分 {nomination.display_name}：{score}")
    return row


@dataclass
class ResultRow:
    nomination: Nomination
    votes: int
    vote_score: Decimal
    committee: Decimal | None
    final: Decimal


def _q2(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round_results(award: AwardRound, *, now: dt.datetime | None = None) -> dict[int, list[ResultRow]]:
    """{category id: rows by final score} — votes are secret until the window closes (raises ResultsHidden).

    vote score = votes / the category's most votes × 100; final = w × vote score + (100 − w) % × committee average
    (a nomination no one scored counts 0 there).
    """
    if _now(now) < award.vote_end:
        raise ResultsHidden(f"评议结果将于 {timezone.localtime(award.vote_end):%Y-%m-%d %H:%M} 后公布")
    nominations = (Nomination.objects.filter(category__round=award).select_related("category")
                   .annotate(n_votes=Count("votes", distinct=True), avg_score=Avg("scores__score")))
    by_category: dict[int, list[Nomination]] = defaultdict(list)
    for n in nominations:
        by_category[n.category_id].append(n)
    w = Decimal(award.vote_weight) / 100
    results: dict[int, list[ResultRow]] = {}
    for category_id, items in by_category.items():
        counts = {n.pk: n.n_votes for n in items}  # type: ignore[attr-defined]  # annotated above
        averages = {n.pk: n.avg_score for n in items}  # type: ignore[attr-defined]
        top = max(counts.values(), default=0)
        rows = []
        for n in items:
            vote_score = _q2(Decimal(counts[n.pk]) * 100 / top) if top else Decimal("0.00")
            committee = _q2(averages[n.pk]) if averages[n.pk] is not None else None
            final = _q2(w * vote_score + (1 - w) * (committee or 0))
            rows.append(ResultRow(n, counts[n.pk], vote_score, committee, final))
        rows.sort(key=lambda r: (-r.final, -r.votes, r.nomination.pk))
        results[category_id] = rows
    return results


@transaction.atomic
def award_round_start_publicity(*, award: AwardRound, now: dt.datetime | None = None, actor: Any) -> AwardRound:
    """After the vote: rank each category, mark its top `quota` as proposed winners and publicise them (公示)."""
    _require(actor, "admin", award)
    now = _now(now)
    award = AwardRound.objects.select_for_update().get(pk=award.pk)
    if award.status not in (AwardRound.Status.VOTING, AwardRound.Status.SCORING) or now < award.vote_end:
        raise ValidationError({"status": ["评议结束后才能公示"]})
    quotas = dict(award.categories.values_list("id", "quota"))
    for category_id, rows in round_results(award, now=now).items():
        for rank, row in enumerate(r for r in rows if r.nomination.status != Nomination.Status.DISQUALIFIED):
            n = row.nomination
            n.committee_score, n.final_score = row.committee, row.final
            n.status = Nomination.Status.AWARDED if rank < quotas[category_id] else Nomination.Status.NOT_AWARDED
            n.save(update_fields=["committee_score", "final_score", "status"])
    award.status = AwardRound.Status.PUBLICITY
    award.publicity_start = now
    award.save(update_fields=["status", "publicity_start"])
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 公示")
    return award


def publicity_end(award: AwardRound) -> dt.datetime | None:
    if award.publicity_start is None:
        return None
    return award.publicity_start + dt.timedelta(days=award.publicity_days)


@transaction.atomic
def objection_lodge(*, nomination: Nomination, name: str, contact: str, text: str,
                    now: dt.datetime | None = None) -> Objection:
    """Anyone may object to a proposed winner during publicity; a name and a reachable phone are required."""
    award = nomination.category.round
    now = _now(now)
    end = publicity_end(award)
    if award.status != AwardRound.Status.PUBLICITY or end is None or now >= end:
        raise ValidationError({"nomination": ["不在公示期内"]})
    if nomination.status != Nomination.Status.AWARDED:
        raise ValidationError({"nomination": ["只能对公示的拟表彰对象提出异议"]})
    errors: dict[str, list[str]] = {}
    try:
        phone = parse_phone(contact)
        if not phone:
            errors["contact"] = ["请留下联系电话，以便答复"]
    except ValidationError as exc:
        errors["contact"] = exc.messages
    clean_name = normalise_text(name)
    if not clean_name:
        errors["name"] = ["请填写姓名"]
    elif len(clean_name) > 50:
        errors["name"] = ["姓名过长"]
    body = str(text or "").strip()
    if not body:
        errors["text"] = ["请填写异议内容"]
    elif len(body) > 3000:
        errors["text"] = ["不能超过3000个字符"]
    if errors:
        raise ValidationError(errors)
    objection = Objection.objects.create(nomination=nomination, name=clean_name, contact=phone, text=body)
    audit_record(by=None, action="create", obj=objection, summary=f"公示异议 {nomination.display_name}")
    return objection


@transaction.atomic
def objection_answer(*, objection: Objection, answer: str, upheld: bool, actor: Any) -> Objection:
    """Answer an objection (an administrator of the round); an upheld one disqualifies the nomination."""
    _require(actor, "admin", objection.nomination.category.round)
    answer = clean_text(answer, "answer", 3000, multiline=True)
    if Objection.objects.filter(pk=objection.pk, answered_at__isnull=True).update(
            answer=answer, upheld=upheld, answered_at=timezone.now(),
            answered_by=actor if getattr(actor, "is_authenticated", False) else None) != 1:
        raise ValidationError({"answer": ["该异议已答复"]})
    objection.refresh_from_db()
    if upheld:
        Nomination.objects.filter(pk=objection.nomination_id).update(status=Nomination.Status.DISQUALIFIED)
    audit_record(by=actor, action="update", obj=objection, after={"upheld": upheld},
                 summary=f"答复异议 {objection.nomination.display_name}：{'成立' if upheld else '不成立'}")
    return objection


@transaction.atomic
def award_round_publish(*, award: AwardRound, now: dt.datetime | None = None, actor: Any) -> AwardRound:
    """After publicity, with every objection answered: publish the final list."""
    _require(actor, "admin", award)
    now = _now(now)
    award = AwardRound.objects.select_for_update().get(pk=award.pk)
    end = publicity_end(award)
    if award.status != AwardRound.Status.PUBLICITY or end is None or now < end:
        raise ValidationError({"status": ["公示期满后才能公布"]})
    if Objection.objects.filter(nomination__category__round=award, answered_at__isnull=True).exists():
        raise ValidationError({"status": ["还有异议未答复"]})
    award.status = AwardRound.Status.PUBLISHED
    award.published_at = now
    award.save(update_fields=["status", "published_at"])
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 公布")
    return award
