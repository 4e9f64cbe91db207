from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from openpyxl import load_workbook

from xianfeng.core.models import AppendOnlyError, AuditEvent
from xianfeng.ledger.models import Account, Entry, OwnerType, Transaction, Unit
from xianfeng.ledger.services import (
    AlreadyReversed,
    BadAmount,
    FloorCrossed,
    KeyConflict,
    LedgerError,
    PostingSpec,
    Unbalanced,
    UnknownAccount,
    account_balance,
    account_open,
    account_statement,
    clean_amount,
    ledger_post,
    ledger_post_many,
    ledger_reverse,
    ledger_verify,
    statement_xlsx,
)


def counts():
    return Transaction.objects.count(), Entry.objects.count()


def test_a_balanced_posting_moves_the_balances(book, award, world):
    txn = award(book.zhang, 30, "award:1", by=world.hebin_secretary)
    assert txn.created_by == world.hebin_secretary and txn.kind == "points.award"
    assert account_balance(book.zhang) == 30 == account_balance(book.zhang, recompute=True)
    assert account_balance(book.pool) == -30
    assert sorted(txn.entries.values_list("amount", flat=True)) == [-30, 30]


@pytest.mark.parametrize(
    "entries, error",
    [
        (lambda b: [(b.pool, -10), (b.zhang, 9)], Unbalanced),
        (lambda b: [(b.pool, 0), (b.zhang, 0)], BadAmount),
        (lambda b: [(b.pool, -1.0), (b.zhang, 1.0)], BadAmount),
        (lambda b: [(b.pool, -1.5), (b.zhang, 1.5)], BadAmount),
        (lambda b: [(b.pool, Decimal("-2.5")), (b.zhang, Decimal("2.5"))], BadAmount),
        (lambda b: [(b.pool, True), (b.zhang, -1)], BadAmount),
        (lambda b: [(b.pool, "ten"), (b.zhang, 10)], BadAmount),
        (lambda b: [(b.pool, -5), (999_999, 5)], UnknownAccount),
        (lambda b: [(b.pool, -5), (Account(name="unsaved"), 5)], UnknownAccount),
        (lambda b: [(b.pool, -5), ("zhang", 5)], UnknownAccount),
        (lambda b: [(b.zhang, 5)], Unbalanced),
        (lambda b: [], Unbalanced),
        (lambda b: [(b.pool, -5), (b.pool, 5)], LedgerError),
        (lambda b: [(b.pool, -5, 1)], LedgerError),
        (lambda b: [(b.pool, -100), (b.fund, 100)], Unbalanced),  # points and fen do not offset each other
    ],
)
def test_bad_postings_are_refused_and_write_nothing(book, entries, error):
    before = counts(), account_balance(book.pool)
    with pytest.raises(error) as info:
        ledger_post(entries=entries(book), memo="bad", kind="test", key="bad:1")
    assert info.value.messages and all(info.value.messages)  # a clear reason
    assert (counts(), account_balance(book.pool)) == before


def test_amounts_accept_whole_decimals_and_strings_only():
    assert clean_amount(Decimal("12")) == 12
    assert clean_amount("-7") == -7
    assert clean_amount(Decimal("3.00")) == 3
    for bad in (0, 0.0, 2.0, "1.5", Decimal("NaN"), Decimal("Infinity"), None, [1], 2**63):
        with pytest.raises(BadAmount):
            clean_amount(bad)


def test_a_transaction_may_mix_units_if_each_unit_sums_to_zero(book):
    txn = ledger_post(entries=[(book.pool, -10), (book.zhang, 10), (book.donors, -500), (book.fund, 500)],
                      memo="mixed", kind="test", key="mixed:1")
    assert txn.entries.count() == 4
    assert ledger_verify().ok


def test_memo_kind_and_key_are_required(book):
    for field in ("memo", "kind", "key"):
        args = {"memo": "m", "kind": "k", "key": "x"} | {field: "  "}
        with pytest.raises(LedgerError):
            ledger_post(entries=[(book.pool, -1), (book.zhang, 1)], **args)
    assert counts() == (0, 0)


def test_replaying_a_key_returns_the_original_and_writes_nothing(book, award):
    first = award(book.zhang, 10, "award:replay")
    before = counts()
    again = award(book.zhang, 10, "award:replay")
    assert again.pk == first.pk
    assert counts() == before and account_balance(book.zhang) == 10


def test_a_key_reused_for_different_entries_is_a_conflict(book, award):
    award(book.zhang, 10, "award:k")
    with pytest.raises(KeyConflict):
        award(book.zhang, 11, "award:k")
    assert account_balance(book.zhang) == 10


def test_the_floor_is_never_crossed(book, award):
    award(book.zhang, 5, "award:f")
    with pytest.raises(FloorCrossed, match="余额不足"):
        ledger_post(entries=[(book.zhang, -6), (book.pool, 6)], memo="兑换", kind="points.redeem", key="redeem:1")
    assert account_balance(book.zhang) == 5 and counts() == (1, 2)
    ledger_post(entries=[(book.zhang, -5), (book.pool, 5)], memo="兑换", kind="points.redeem", key="redeem:2")
    assert account_balance(book.zhang) == 0


def test_a_negative_floor_is_a_credit_limit(book):
    shop = account_open(name="超市", owner_type=OwnerType.SHOP, owner_id=1, unit=Unit.POINT, floor=-100)
    ledger_post(entries=[(shop, -100), (book.pool, 100)], memo="赊", kind="test", key="shop:1")
    with pytest.raises(FloorCrossed):
        ledger_post(entries=[(shop, -1), (book.pool, 1)], memo="赊", kind="test", key="shop:2")


def test_the_database_refuses_a_balance_below_the_floor(book):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=book.zhang.pk).update(balance=-1)


def test_reversal_mirrors_the_original_once(book, award, world):
    txn = award(book.zhang, 20, "award:r")
    reversal = ledger_reverse(transaction=txn, actor=world.county_admin, key="award:r:reverse")
    assert reversal.reverses == txn and reversal.kind == "reversal" and reversal.memo.startswith("冲正")
    assert account_balance(book.zhang) == 0 and account_balance(book.pool) == 0
    assert ledger_reverse(transaction=txn, actor=world.county_admin, key="award:r:reverse").pk == reversal.pk
    with pytest.raises(AlreadyReversed):
        ledger_reverse(transaction=txn, actor=world.county_admin, key="award:r:reverse-again")
    with pytest.raises(KeyConflict):
        ledger_reverse(transaction=reversal, key="award:r")
    assert AuditEvent.objects.filter(model="ledger.Transaction", object_id=str(reversal.pk)).count() == 1
    assert ledger_verify().ok


def test_a_reversal_cannot_take_back_points_already_spent(book, award):
    txn = award(book.zhang, 20, "award:s")
    ledger_post(entries=[(book.zhang, -15), (book.pool, 15)], memo="兑换", kind="points.redeem", key="redeem:s")
    with pytest.raises(FloorCrossed):
        ledger_reverse(transaction=txn, key="award:s:reverse")
    assert account_balance(book.zhang) == 5


def test_reversing_an_unknown_transaction_is_refused(book):
    with pytest.raises(LedgerError):
        ledger_reverse(transaction=Transaction(pk=12345), key="x")


def test_entries_and_transactions_are_append_only_in_code(book, award):
    txn = award(book.zhang, 3, "award:a")
    entry = txn.entries.first()
    entry.amount = 4
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        txn.delete()


def test_account_open_is_idempotent_and_audited(world):
    a = account_open(name="A", owner_type=OwnerType.MEMBER, owner_id=42, unit=Unit.POINT, floor=0)
    b = account_open(name="A again", owner_type=OwnerType.MEMBER, owner_id=42, unit=Unit.POINT, floor=0)
    assert a.pk == b.pk
    assert AuditEvent.objects.filter(model="ledger.Account", object_id=str(a.pk)).count() == 1
    with pytest.raises(Exception):
        account_open(name="B", owner_type="alien", owner_id=1, unit=Unit.POINT)
    with pytest.raises(Exception):
        account_open(name="B", owner_type=OwnerType.MEMBER, owner_id=1, unit="usd")
    with pytest.raises(BadAmount):
        account_open(name="B", owner_type=OwnerType.MEMBER, owner_id=1, unit=Unit.POINT, floor=0.5)
    with pytest.raises(Exception, match="下限不能高于0"):
        account_open(name="B", owner_type=OwnerType.MEMBER, owner_id=1, unit=Unit.POINT, floor=10)


def test_post_many_is_all_or_nothing_and_checks_the_floor_in_order(book, award):
    good = [PostingSpec(entries=[(book.pool, -5), (book.zhang, 5)], memo="m", kind="points.award", key=f"b:{i}")
            for i in range(3)]
    spend = PostingSpec(entries=[(book.zhang, -15), (book.pool, 15)], memo="m", kind="points.redeem", key="b:spend")
    txns = ledger_post_many(postings=[*good, spend])
    assert len(txns) == 4 and account_balance(book.zhang) == 0
    # spending before earning crosses the floor on the way, even though the batch nets out
    early = PostingSpec(entries=[(book.zhang, -5), (book.pool, 5)], memo="m", kind="points.redeem", key="c:spend")
    late = PostingSpec(entries=[(book.pool, -5), (book.zhang, 5)], memo="m", kind="points.award", key="c:earn")
    before = counts()
    with pytest.raises(FloorCrossed):
        ledger_post_many(postings=[early, late])
    assert counts() == before
    with pytest.raises(Unbalanced, match="第 2 笔"):
        ledger_post_many(postings=[late, {"entries": [(book.pool, -1)], "memo": "m", "kind": "k", "key": "c:x"}])
    with pytest.raises(KeyConflict):
        ledger_post_many(postings=[late, late])
    assert counts() == before
    # replays inside a batch come back as they were
    again = ledger_post_many(postings=[good[0], late])
    assert again[0].pk == txns[0].pk and counts() == (before[0] + 1, before[1] + 2)
    assert ledger_verify().ok


def test_statement_has_a_running_balance(book, award):
    award(book.zhang, 10, "s:1")
    award(book.zhang, 5, "s:2")
    ledger_post(entries=[(book.zhang, -12), (book.pool, 12)], memo="兑换", kind="points.redeem", key="s:3")
    lines = list(account_statement(book.zhang))
    assert [(e.amount, e.running_balance) for e in lines] == [(10, 10), (5, 15), (-12, 3)]
    assert [e.transaction.key for e in lines] == ["s:1", "s:2", "s:3"]
    since = lines[1].transaction.created_at
    cut = list(account_statement(book.zhang, since=since))
    assert [(e.amount, e.running_balance) for e in cut][-1] == (-12, 3)


def test_postings_entered_afterwards_keep_their_day_and_the_statement_runs_in_time_order(book, award):
    import datetime as dt

    from django.utils import timezone

    award(book.zhang, 10, "t:today")
    earlier = timezone.now() - dt.timedelta(days=90)
    ledger_post_many(postings=[PostingSpec(entries=[(book.pool, -4), (book.zhang, 4)], memo="补录", kind="points.award",
                                           key="t:spring", at=earlier)])
    assert Transaction.objects.get(key="t:spring").created_at == earlier
    lines = list(account_statement(book.zhang))
    assert [(e.transaction.key, e.running_balance) for e in lines] == [("t:spring", 4), ("t:today", 14)]
    assert [e.transaction.key for e in account_statement(book.zhang).reverse()] == ["t:today", "t:spring"]


@pytest.mark.parametrize("at", ["tomorrow", "naive", "a string"])
def test_a_posting_dated_in_the_future_or_without_a_zone_is_refused_and_nothing_is_written(book, at):
    import datetime as dt

    from django.utils import timezone

    value = {"tomorrow": timezone.now() + dt.timedelta(days=1), "naive": dt.datetime(2026, 5, 1, 9, 0),
             "a string": "2026-05-01"}[at]
    before = counts()
    with pytest.raises(LedgerError, match="第 1 笔"):
        ledger_post_many(postings=[PostingSpec(entries=[(book.pool, -4), (book.zhang, 4)], memo="补录",
                                               kind="points.award", key="t:bad", at=value)])
    assert counts() == before


def test_statement_exports_to_xlsx_and_the_export_is_audited(book, award, world, tmp_path):
    award(book.zhang, 10, "x:1")
    ledger_post(entries=[(book.donors, -12345), (book.fund, 12345)], memo="捐赠", kind="fund.donation", key="x:2")
    data = statement_xlsx(account=book.fund, actor=world.county_admin)
    path = tmp_path / "s.xlsx"
    path.write_bytes(data)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][-1] == "余额（元）"
    assert rows[1][4] == "捐赠" and rows[1][5] == pytest.approx(123.45) and rows[1][6] == pytest.approx(123.45)
    # a memo is user text: one that looks like a formula stays text
    ledger_post(entries=[(book.donors, -1), (book.fund, 1)], memo="=HYPERLINK(\"x\")", kind="fund.donation",
                key="x:3")
    path.write_bytes(statement_xlsx(account=book.fund, actor=world.county_admin))
    cell = load_workbook(path).active.cell(row=3, column=5)
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"
    assert AuditEvent.objects.filter(action="export", model="ledger.Account", object_id=str(book.fund.pk)).exists()


def test_ledger_check_finds_a_tampered_balance_and_exits_1(book, award, capsys):
    award(book.zhang, 10, "t:1")
    call_command("ledger_check")
    assert "0 problems" in capsys.readouterr().out
    Account.objects.filter(pk=book.zhang.pk).update(balance=11)  # a cache gone wrong
    with pytest.raises(SystemExit) as info:
        call_command("ledger_check")
    assert info.value.code == 1
    captured = capsys.readouterr()
    assert "缓存余额 11，分录合计 10" in captured.err and "1 problems" in captured.out


@pytest.mark.skipif("connection.vendor == 'postgresql'", reason="PostgreSQL's trigger refuses the tampering itself")
def test_ledger_check_finds_an_unbalanced_transaction_written_behind_the_services_back(book, award):
    txn = award(book.zhang, 10, "t:2")
    Entry.objects.bulk_create([Entry(transaction=txn, account=book.wang, amount=1)])
    Account.objects.filter(pk=book.wang.pk).update(balance=1)
    check = ledger_verify()
    assert any(f"交易 {txn.pk}" in p and "应为 0" in p for p in check.problems)


def test_ledger_check_finds_a_lonely_transaction_and_a_broken_reversal(book, award):
    lonely = Transaction.objects.create(memo="m", kind="k", key="lonely")
    txn = award(book.zhang, 10, "t:3")
    reversal = ledger_post(entries=[(book.zhang, -9), (book.pool, 9)], memo="m", kind="reversal", key="t:3:r")
    Transaction.objects.filter(pk=reversal.pk).update(reverses=txn) if connection.vendor != "postgresql" else None
    problems = ledger_verify().problems
    assert any(f"交易 {lonely.pk}：只有 0 条分录" in p for p in problems)
    if connection.vendor != "postgresql":
        assert any(f"交易 {reversal.pk}：与被冲正的交易 {txn.pk} 不对应" in p for p in problems)


def test_nightly_check_tells_the_administrators_about_a_mismatch(book, award, world):
    from xianfeng.ledger.jobs import nightly_check
    from xianfeng.notify.models import Notification

    award(book.zhang, 10, "n:1")
    nightly_check()
    assert not Notification.objects.exists()
    Account.objects.filter(pk=book.zhang.pk).update(balance=12)
    nightly_check()
    nightly_check()  # the same day: one notification only
    note = Notification.objects.get(recipient=world.county_admin)
    assert note.kind == "ledger.check_failed" and "缓存余额 12" in note.body


def test_statement_until_cuts_the_list_and_long_texts_are_refused(book, award):
    import datetime as dt

    from django.utils import timezone

    award(book.zhang, 10, "u:1")
    assert list(account_statement(book.zhang, until=timezone.now() - dt.timedelta(days=1))) == []
    assert len(account_statement(book.zhang, until=timezone.now() + dt.timedelta(days=1))) == 1
    with pytest.raises(LedgerError):
        ledger_post(entries=[(book.pool, -1), (book.zhang, 1)], memo="m" * 301, kind="k", key="u:2")
    with pytest.raises(LedgerError):
        ledger_post(entries="not a list", memo="m", kind="k", key="u:3")
    with pytest.raises(UnknownAccount):
        account_balance(10**9)


def test_post_many_refuses_a_replayed_key_with_other_entries_and_returns_replays(book, award):
    first = award(book.zhang, 5, "pm:1")
    same = PostingSpec(entries=[(book.pool, -5), (book.zhang, 5)], memo="积分奖励", kind="points.award", key="pm:1")
    assert [t.pk for t in ledger_post_many(postings=[same])] == [first.pk]
    other = PostingSpec(entries=[(book.pool, -6), (book.zhang, 6)], memo="m", kind="k", key="pm:1")
    with pytest.raises(KeyConflict):
        ledger_post_many(postings=[other])
    with pytest.raises(BadAmount, match="第 1 笔"):
        ledger_post_many(postings=[PostingSpec(entries=[(book.pool, -0.5), (book.zhang, 0.5)], memo="m", kind="k",
                                               key="pm:2")])


def test_ledger_check_lists_at_most_the_limit(db):
    from xianfeng.ledger.services import LedgerCheck

    check = LedgerCheck()
    assert check.ok
    for i in range(3):
        Transaction.objects.create(memo="m", kind="k", key=f"empty:{i}")
    problems = ledger_verify(limit=2).problems
    assert len(problems) == 3 and problems[-1].startswith("…")
