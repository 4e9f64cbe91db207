"""Every write to the ledger, and the reads that have rules: balances, statements, the consistency check.

    acct = account_open(name="张建国 积分", owner_type="member", owner_id=member.pk, org=member.org,
                        unit="point", floor=0)
    ledger_post(entries=[(county_pool, -10), (acct, 10)], memo="认领服务需求", kind="points.award",
                key=f"demand:{demand.pk}:award", actor=user)
    ledger_reverse(transaction=txn, actor=user, key=f"demand:{demand.pk}:award:reverse")

Rules: entries are integers (points, or fen), never zero, on known accounts, and sum to zero per unit; an account
never goes below its floor, even with many clients posting at once; a key posts once (a replay returns the first
transaction and writes nothing); nothing is ever updated or deleted — a correction is a reversing transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, F, Q, Sum, Value, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from xianfeng.core import policy
from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.text import clean_text
from xianfeng.core.util import chunked

from .models import Account, Entry, OwnerType, Unit
from .models import Transaction as LedgerTransaction


class LedgerError(ValidationError):
    """A posting the ledger refuses; nothing was written."""


class UnknownAccount(LedgerError):
    pass


class BadAmount(LedgerError):
    pass


class Unbalanced(LedgerError):
    pass


class FloorCrossed(LedgerError):
    pass


class KeyConflict(LedgerError):
    """The idempotency key was already used for a different posting."""


class AlreadyReversed(LedgerError):
    pass


AccountRef = Account | int
Posting = Sequence[tuple[AccountRef, Any]]
_ENTRY_CHUNK = 5000  # entries per INSERT: whole transactions only (the PostgreSQL balance trigger checks per statement)


def clean_amount(value: Any) -> int:
    """An entry amount as an int. Floats are refused (money and points are counted, not measured); a Decimal or a
    string is accepted only if it is a whole number; zero is refused. Raises BadAmount."""
    if isinstance(value, (bool, float)):
        raise BadAmount(f"金额必须是整数（积分或分），不能是小数：{value!r}")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, (Decimal, str)):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            raise BadAmount(f"金额不是数字：{value!r}") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise BadAmount(f"金额必须是整数（积分或分），不能有小数部分：{value!r}")
        amount = int(number)
    else:
        raise BadAmount(f"金额必须是整数：{value!r}")
    if amount == 0:
        raise BadAmount("金额不能为零")
    if abs(amount) >= 2**62:
        raise BadAmount("金额过大")
    return amount


def _account_id(ref: Any) -> int:
    if isinstance(ref, Account):
        if ref.pk is None:
            raise UnknownAccount("账户尚未保存")
        return ref.pk
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    raise UnknownAccount(f"不是账户：{ref!r}")


def _clean_text(value: Any, name: str, max_length: int) -> str:
    """core.text.clean_text, refusing as a LedgerError (nothing written)."""
    try:
        return clean_text(value, name, max_length)
    except LedgerError:
        raise
    except ValidationError as e:
        raise LedgerError(e.message_dict) from None


def _clean_entries(entries: Any) -> list[tuple[int, int]]:
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Iterable):
        raise LedgerError("分录必须是 (账户, 金额) 的列表")
    cleaned: list[tuple[int, int]] = []
    seen: set[int] = set()
    for item in entries:
        try:
            ref, amount = item
        except (TypeError, ValueError):
            raise LedgerError(f"分录必须是 (账户, 金额)：{item!r}") from None
        account_id = _account_id(ref)
        if account_id in seen:
            raise LedgerError(f"同一账户在一笔交易中只能出现一次（账户 {account_id}）")
        seen.add(account_id)
        cleaned.append((account_id, clean_amount(amount)))
    if len(cleaned) < 2:
        raise Unbalanced("一笔交易至少要有两条分录")
    return cleaned


@dataclass(frozen=True)
class _AccountFacts:
    unit: str
    floor: int | None


def _load_accounts(ids: Iterable[int]) -> dict[int, _AccountFacts]:
    wanted = sorted(set(ids))
    found: dict[int, _AccountFacts] = {}
    for chunk in chunked(wanted, 500):
        rows = Account.objects.filter(pk__in=list(chunk)).values_list("pk", "unit", "floor")
        found.update({pk: _AccountFacts(unit, floor) for pk, unit, floor in rows})
    missing = [i for i in wanted if i not in found]
    if missing:
        raise UnknownAccount(f"账户不存在：{', '.join(map(str, missing[:10]))}")
    return found


def _check_balanced(entries: list[tuple[int, int]], accounts: dict[int, _AccountFacts]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for account_id, amount in entries:
        totals[accounts[account_id].unit] += amount
    off = {unit: total for unit, total in totals.items() if total != 0}
    if off:
        parts = "，".join(f"{Unit(u).label}相差 {t:+d}" for u, t in sorted(off.items()))
        raise Unbalanced(f"借贷不平衡：{parts}")


def _same_entries(txn: LedgerTransaction, entries: list[tuple[int, int]]) -> bool:
    return set(txn.entries.values_list("account_id", "amount")) == set(entries)


def _replay(key: str, entries: list[tuple[int, int]]) -> LedgerTransaction | None:
    existing = LedgerTransaction.objects.filter(key=key).first()
    if existing is None:
        return None
    if not _same_entries(existing, entries):
        raise KeyConflict(f"幂等键 {key} 已用于另一笔不同的交易（#{existing.pk}）")
    return existing


def _apply_deltas(deltas: dict[int, int]) -> None:
    """Add each delta to its account's cached balance, in account-id order (a stable lock order: no deadlocks).

    The UPDATE itself checks the floor: `… WHERE floor IS NULL OR balance + delta >= floor`. On PostgreSQL a
    concurrent poster waits for the row lock and then re-evaluates the condition against the committed balance, so
    the floor holds under any concurrency; on SQLite writers are serialised. The CHECK constraint is the backstop.
    """
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        qs = Account.objects.filter(pk=account_id)
        if delta < 0:
            qs = qs.filter(Q(floor__isnull=True) | Q(balance__gte=F("floor") - delta))
        if qs.update(balance=F("balance") + delta) != 1:
            account = Account.objects.get(pk=account_id)
            raise FloorCrossed(f"{account.name} 余额不足：余额 {account.format_amount(account.balance)}，"
                               f"本次 {account.format_amount(delta)}，下限 {account.format_amount(account.floor or 0)}")


def _insert_transaction(*, memo: str, kind: str, key: str, reverses: LedgerTransaction | None,
                        created_by: Any) -> LedgerTransaction | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: one statement that either creates the transaction or says the
    key (or the reversal) is taken — no look-up first, no savepoint. On PostgreSQL a concurrent insert of the same
    key waits for the other to commit and then does nothing. None when nothing was inserted."""
    meta = LedgerTransaction._meta
    now = timezone.now()
    values = {"memo": memo, "kind": kind, "key": key, "reverses": reverses.pk if reverses is not None else None,
              "created_by": created_by.pk if created_by is not None else None, "created_at": now}
    fields: list[models.Field] = []
    for name in values:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        fields.append(field)
    quote = connection.ops.quote_name
    # Only quoted identifiers from the model's own metadata are formatted in; every value is a parameter.
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}")
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    txn = LedgerTransaction(pk=row[0], memo=memo, kind=kind, key=key, reverses=reverses, created_by=created_by,
                            created_at=now)
    txn._state.adding = False
    txn._state.db = connection.alias
    return txn


def _set_balances(balances: dict[int, int]) -> None:
    """Write new cached balances for accounts whose rows this transaction has locked (one statement per 500)."""
    quote = connection.ops.quote_name
    table, pk, column = (quote(Account._meta.db_table), quote(Account._meta.pk.column),
                         quote(Account._meta.get_field("balance").column))
    for chunk in chunked(sorted(balances.items()), 500):
        cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
        params: list[int] = [v for pair in chunk for v in pair]
        params += [account_id for account_id, _ in chunk]
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = CASE {pk} {cases} END "  # noqa: S608 (identifiers only)
                           f"WHERE {pk} IN ({', '.join(['%s'] * len(chunk))})", params)


def _insert_entries(rows: list[Entry]) -> None:
    Entry.objects.bulk_create(rows)


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def ledger_post(*, entries: Posting, memo: str, kind: str, key: str, actor: Any = None) -> LedgerTransaction:
    """Post one transaction: `entries` is [(account or account id, amount), …], amounts in the accounts' units.

    Returns the new transaction, or — when `key` was posted before with the same entries — the original one,
    writing nothing. Raises (writing nothing) UnknownAccount, BadAmount, Unbalanced, FloorCrossed, KeyConflict.
    """
    return _post(entries=entries, memo=memo, kind=kind, key=key, actor=actor)


def _post(*, entries: Any, memo: Any, kind: Any, key: Any, actor: Any,
          reverses: LedgerTransaction | None = None) -> LedgerTransaction:
    memo = _clean_text(memo, "memo", 300)
    kind = _clean_text(kind, "kind", 40)
    key = _clean_text(key, "key", 200)
    cleaned = _clean_entries(entries)
    accounts = _load_accounts(a for a, _ in cleaned)
    _check_balanced(cleaned, accounts)
    if connection.vendor == "postgresql":
        # Lock the accounts (id order, as _apply_deltas) before the transaction takes its moment: postings to one
        # account are then timed in the order their balances change, so a statement in time order never shows a
        # running balance below the floor that the balance itself never crossed. SQLite serialises writers already.
        list(Account.objects.select_for_update().filter(pk__in=sorted({a for a, _ in cleaned}))
             .order_by("pk").values_list("pk", flat=True))
    txn = _insert_transaction(memo=memo, kind=kind, key=key, reverses=reverses, created_by=_actor(actor))
    if txn is None:
        # The key was posted before (or, concurrently, just now), or the transaction was already reversed.
        original = _replay(key, cleaned)
        if original is not None:
            return original
        if reverses is not None:
            raise AlreadyReversed(f"交易 #{reverses.pk} 已被冲正")
        raise LedgerError("交易与已有交易冲突")
    _apply_deltas({account_id: amount for account_id, amount in cleaned})
    _insert_entries([Entry(transaction=txn, account_id=a, amount=amt) for a, amt in cleaned])
    return txn


@dataclass
class PostingSpec:
    entries: Posting
    memo: str
    kind: str
    key: str
    at: dt.datetime | None = None  # when it happened, for postings entered afterwards (an import); default now


def _clean_moment(at: Any, now: dt.datetime) -> dt.datetime:
    if at is None:
        return now
    if not isinstance(at, dt.datetime) or timezone.is_naive(at):
        raise LedgerError("时间须为带时区的日期时间")
    if at > now:
        raise LedgerError("时间不能晚于现在")
    return at


@transaction.atomic
def ledger_post_many(*, postings: Sequence[PostingSpec | dict[str, Any]], actor: Any = None) -> list[LedgerTransaction]:
    """Post many transactions at once, all or nothing (a yearly award to every member, an import).

    Same rules as ledger_post, checked for every posting in order — the floor too, posting by posting — but with a
    handful of statements per batch instead of a handful per posting. Postings whose key was posted before are
    returned as they were and not written again. A posting's `at` dates one entered afterwards (an import, the demo)
    on the day it happened; it may not lie in the future. Raises LedgerError naming the first bad posting; if another client
    commits one of the batch's keys while it runs, the batch fails with IntegrityError and is safe to retry.
    """
    specs = [p if isinstance(p, PostingSpec) else PostingSpec(**p) for p in postings]
    cleaned: list[tuple[str, str, str, list[tuple[int, int]]]] = []
    now = timezone.now()
    moments: dict[str, dt.datetime] = {}
    for index, spec in enumerate(specs):
        try:
            cleaned.append((_clean_text(spec.memo, "memo", 300), _clean_text(spec.kind, "kind", 40),
                            _clean_text(spec.key, "key", 200), _clean_entries(spec.entries)))
            if spec.at is not None:  # the others take their moment once the accounts are locked (see _post)
                moments[cleaned[-1][2]] = _clean_moment(spec.at, now)
        except LedgerError as exc:
            raise type(exc)(f"第 {index + 1} 笔：{'；'.join(exc.messages)}") from None
    keys = [c[2] for c in cleaned]
    if len(set(keys)) != len(keys):
        raise KeyConflict("同一批次中有重复的幂等键")
    accounts = _load_accounts(a for c in cleaned for a, _ in c[3])
    for index, (_, _, _, entries) in enumerate(cleaned):
        try:
            _check_balanced(entries, accounts)
        except LedgerError as exc:
            raise Unbalanced(f"第 {index + 1} 笔：{'；'.join(exc.messages)}") from None

    existing: dict[str, LedgerTransaction] = {}
    for chunk in chunked(keys, 500):
        existing.update({t.key: t for t in LedgerTransaction.objects.filter(key__in=list(chunk))})
    for _, _, key, entries in cleaned:
        if key in existing and not _same_entries(existing[key], entries):
            raise KeyConflict(f"幂等键 {key} 已用于另一笔不同的交易（#{existing[key].pk}）")
    new = [c for c in cleaned if c[2] not in existing]
    if not new:
        return [existing[k] for k in keys]

    # Lock the touched accounts in id order and replay the batch against their balances, posting by posting.
    touched = sorted({a for c in new for a, _ in c[3]})
    balances: dict[int, tuple[int, int | None]] = {}
    for ids in chunked(touched, 500):
        rows = Account.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
        balances.update({pk: (bal, floor) for pk, bal, floor in rows.values_list("pk", "balance", "floor")})
    running = {pk: bal for pk, (bal, _) in balances.items()}
    locked_now = timezone.now()
    moments = {key: moments.get(key, locked_now) for _, _, key, _ in new}
    for _, _, key, entries in new:
        for account_id, amount in entries:
            running[account_id] += amount
            floor = balances[account_id][1]
            if amount < 0 and floor is not None and running[account_id] < floor:
                raise FloorCrossed(f"第 {keys.index(key) + 1} 笔（{key}）使账户 {account_id} 低于下限")

    actor = _actor(actor)
    txns = LedgerTransaction.objects.bulk_create(
        [LedgerTransaction(memo=m, kind=k, key=key, created_by=actor, created_at=moments[key]) for m, k, key, _ in new],
        batch_size=2000)
    if any(t.pk is None for t in txns):  # a backend that cannot return ids from a bulk insert
        by_key = {t.key: t for t in LedgerTransaction.objects.filter(key__in=[c[2] for c in new])}
        txns = [by_key[c[2]] for c in new]
    # The rows are locked and every floor was checked above, so the new balances can be written as values.
    _set_balances({pk: running[pk] for pk in touched if running[pk] != balances[pk][0]})
    batch: list[Entry] = []
    for txn, (_, _, _, entries) in zip(txns, new, strict=True):
        if batch and len(batch) + len(entries) > _ENTRY_CHUNK:
            _insert_entries(batch)
            batch = []
        batch.extend(Entry(transaction_id=txn.pk, account_id=a, amount=amt) for a, amt in entries)
    if batch:
        _insert_entries(batch)
    made = {t.key: t for t in txns}
    return [existing.get(k) or made[k] for k in keys]


@transaction.atomic
def ledger_reverse(*, transaction: LedgerTransaction, actor: Any = None, key: str, memo: str = "") -> LedgerTransaction:
    """Post the mirror image of `transaction` (every entry negated), linked to it by `reverses`.

    A transaction is reversed at most once. The reversal obeys the floors like any posting (points already spent
    cannot be taken back). Replaying `key` returns the reversal. Raises LedgerError, AlreadyReversed, FloorCrossed.
    """
    pk = getattr(transaction, "pk", None)
    original = LedgerTransaction.objects.filter(pk=pk).first() if pk is not None else None
    if original is None:
        raise LedgerError("要冲正的交易不存在")
    key = _clean_text(key, "key", 200)
    replay = LedgerTransaction.objects.filter(key=key).first()
    if replay is not None:
        if replay.reverses_id != original.pk:
            raise KeyConflict(f"幂等键 {key} 已用于另一笔交易（#{replay.pk}）")
        return replay
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed(f"交易 #{original.pk} 已被冲正")
    entries = [(a, -amount) for a, amount in original.entries.values_list("account_id", "amount")]
    reversal = _post(entries=entries, memo=memo or f"冲正 #{original.pk}：{original.memo}"[:300], kind="reversal",
                     key=key, actor=actor, reverses=original)
    audit_record(by=actor, action="create", obj=reversal, summary=f"冲正交易 #{original.pk}",
                 after={"reverses": original.pk, "key": key})
    return reversal


@transaction.atomic
def account_open(
    *,
    name: str,
    owner_type: str,
    owner_id: int = 0,
    unit: str,
    org: Any = None,
    floor: int | None = None,
    purpose: str = "main",
    actor: Any = None,
) -> Account:
    """The account of (owner_type, owner_id, unit, purpose): opened if new, returned as it is if it exists.

    Raises ValidationError for an unknown owner type or unit, or a floor that is not an integer.
    """
    if floor is not None:
        floor = clean_amount(floor) if not (isinstance(floor, int) and floor == 0) else 0
        if floor > 0:
            raise ValidationError({"floor": ["下限不能高于0：新账户的余额是0"]})
    if owner_type not in OwnerType.values:
        raise ValidationError({"owner_type": [f"未知的所有者类型：{owner_type}"]})
    if unit not in Unit.values:
        raise ValidationError({"unit": [f"未知的单位：{unit}"]})
    existing = Account.objects.filter(owner_type=owner_type, owner_id=owner_id, unit=unit, purpose=purpose).first()
    if existing is not None:
        return existing
    account = Account(name=str(name).strip()[:200], owner_type=owner_type, owner_id=owner_id, unit=unit, org=org,
                      floor=floor, purpose=purpose)
    # uniqueness is left to the unique constraint: a check here would race with a concurrent opening
    account.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        return Account.objects.get(owner_type=owner_type, owner_id=owner_id, unit=unit, purpose=purpose)
    audit_record(by=actor, action="create", obj=account, after=snapshot(account), summary=f"开立账户 {account.name}")
    return account


def account_balance(account: AccountRef, *, recompute: bool = False) -> int:
    """The account's balance: the cached column (kept by every posting), or with `recompute` the sum of entries."""
    account_id = _account_id(account)
    if recompute:
        return Entry.objects.filter(account_id=account_id).aggregate(s=Coalesce(Sum("amount"), 0))["s"]
    try:
        return Account.objects.values_list("balance", flat=True).get(pk=account_id)
    except Account.DoesNotExist:
        raise UnknownAccount(f"账户不存在：{account_id}") from None


def account_statement(account: AccountRef, *, since: dt.datetime | None = None, until: dt.datetime | None = None):
    """The account's entries, oldest first (by their transaction's moment), each with `running_balance` (the balance just after it) and its
    transaction. `since`/`until` cut the list without changing the running balances."""
    account_id = _account_id(account)
    qs = Entry.objects.filter(account_id=account_id)
    opening = 0
    if since is not None:
        opening = qs.filter(transaction__created_at__lt=since).aggregate(s=Coalesce(Sum("amount"), 0))["s"]
        qs = qs.filter(transaction__created_at__gte=since)
    if until is not None:
        qs = qs.filter(transaction__created_at__lt=until)
    running = Window(Sum("amount"), order_by=[F("transaction__created_at").asc(), F("id").asc()])
    return (qs.select_related("transaction", "transaction__created_by")
            .annotate(running_balance=running + Value(opening) if opening else running)
            .order_by("transaction__created_at", "id"))


def statement_xlsx(*, account: Account, actor: Any) -> bytes:
    """The account's statement as an .xlsx workbook (core.excel: streamed rows, user text never run as a formula).
    Amounts in fen are written as yuan. Audited as an export. `actor` must be allowed to export the account
    (ledger/policies.py): staff of its organisation, or the member whose own account it is."""
    policy.require(actor, "export", account)
    from xianfeng.core.excel import Sheet, write_xlsx

    cny = account.unit == Unit.CNY
    suffix = "（元）" if cny else ""
    headers = ["时间", "交易号", "类型", "经办人", "摘要", f"金额{suffix}", f"余额{suffix}"]

    def rows():
        for entry in account_statement(account).iterator(chunk_size=2000):
            txn = entry.transaction
            amount, running = entry.amount, entry.running_balance
            if cny:
                amount, running = amount / 100, running / 100
            yield [timezone.localtime(txn.created_at), txn.pk, txn.kind,
                   txn.created_by.get_username() if txn.created_by else "", txn.memo, amount, running]

    buffer = io.BytesIO()
    count = write_xlsx(buffer, [Sheet(title="对账单", headers=headers, rows=rows(),
                                      widths={"时间": 20, "摘要": 40, "类型": 16})])
    audit_record(by=actor, action="export", obj=account, summary=f"导出对账单 {account.name}（{count} 行）")
    return buffer.getvalue()


@dataclass
class LedgerCheck:
    """What `ledger_verify` found: counts, and one line per problem (empty when the ledger is consistent)."""

    accounts: int = 0
    transactions: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify(limit: int = 200) -> LedgerCheck:
    """Recompute every balance and every transaction's sums from the entries and report each mismatch:
    cached balance ≠ sum of entries, a transaction that does not sum to zero per unit, a transaction with fewer
    than two entries, a balance below its floor, a reversal that does not mirror what it reverses."""
    started = time.perf_counter()
    check = LedgerCheck(
        accounts=Account.objects.count(),
        transactions=LedgerTransaction.objects.count(),
        entries=Entry.objects.count(),
    )
    problems = check.problems

    def add(line: str) -> None:
        if len(problems) < limit:
            problems.append(line)
        elif len(problems) == limit:
            problems.append("…（更多问题未列出）")

    sums = dict(Entry.objects.values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s")
                .order_by())
    for pk, name, balance, floor in Account.objects.values_list("pk", "name", "balance", "floor").iterator(5000):
        actual = sums.get(pk, 0)
        if balance != actual:
            add(f"账户 {pk}（{name}）：缓存余额 {balance}，分录合计 {actual}")
        if floor is not None and actual < floor:
            add(f"账户 {pk}（{name}）：余额 {actual} 低于下限 {floor}")

    unbalanced = (Entry.objects.values("transaction_id", "account__unit").annotate(s=Sum("amount"))
                  .exclude(s=0).order_by("transaction_id"))
    for row in unbalanced[: limit + 1]:
        add(f"交易 {row['transaction_id']}：{row['account__unit']} 合计 {row['s']}，应为 0")
    short = (LedgerTransaction.objects.annotate(n=Count("entries")).filter(n__lt=2)
             .values_list("pk", "n").order_by("pk"))
    for pk, n in short[: limit + 1]:
        add(f"交易 {pk}：只有 {n} 条分录")

    reversals = LedgerTransaction.objects.filter(reverses__isnull=False).values_list("pk", "reverses_id")
    for chunk in chunked(list(reversals.order_by("pk")), 500):
        ids = [i for pair in chunk for i in pair]
        lines: dict[int, set[tuple[int, int]]] = defaultdict(set)
        for txn_id, account_id, amount in Entry.objects.filter(transaction_id__in=ids).values_list(
                "transaction_id", "account_id", "amount"):
            lines[txn_id].add((account_id, amount))
        for reversal_id, original_id in chunk:
            mirrored = {(a, -amount) for a, amount in lines[original_id]}
            if lines[reversal_id] != mirrored:
                add(f"交易 {reversal_id}：与被冲正的交易 {original_id} 不对应")
    check.seconds = time.perf_counter() - started
    return check

