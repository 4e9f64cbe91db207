"""On PostgreSQL the database itself refuses edits to the ledger's history and unbalanced inserts."""

import pytest
from django.db import IntegrityError, transaction

from xianfeng.ledger.models import Entry, Transaction

pytestmark = pytest.mark.postgres


def test_entries_cannot_be_updated_or_deleted_even_by_raw_querysets(postgres_only, book, award):
    txn = award(book.zhang, 5, "pg:1")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(transaction=txn).update(amount=6)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(transaction=txn).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Transaction.objects.filter(pk=txn.pk).update(memo="edited")
    assert sorted(txn.entries.values_list("amount", flat=True)) == [-5, 5]


def test_an_unbalanced_insert_is_refused_by_the_database(postgres_only, book, award):
    txn = award(book.zhang, 5, "pg:2")
    with pytest.raises(IntegrityError, match="does not sum to zero"), transaction.atomic():
        Entry.objects.bulk_create([Entry(transaction=txn, account=book.wang, amount=1)])
    lonely = Transaction.objects.create(memo="m", kind="k", key="pg:3")
    with pytest.raises(IntegrityError, match="does not sum to zero"), transaction.atomic():
        Entry.objects.bulk_create([Entry(transaction=lonely, account=book.wang, amount=1)])
