import pytest

from xianfeng.ledger.models import OwnerType, Unit
from xianfeng.ledger.services import account_open, ledger_post


@pytest.fixture
def book(world):
    """A county points pool (no floor), two member point accounts (floor 0) and a care fund in fen (floor 0)."""

    class Book:
        pool = account_open(name="县积分池", owner_type=OwnerType.ORGANISATION, owner_id=world.county.pk,
                            org=world.county, unit=Unit.POINT)
        zhang = account_open(name="张建国 积分", owner_type=OwnerType.MEMBER, owner_id=world.members["hebin_a"].pk,
                             org=world.hebin_branch, unit=Unit.POINT, floor=0)
        wang = account_open(name="王海 积分", owner_type=OwnerType.MEMBER, owner_id=world.members["qinshan_a"].pk,
                            org=world.qinshan_branch, unit=Unit.POINT, floor=0)
        donors = account_open(name="捐赠来源", owner_type=OwnerType.SYSTEM, purpose="donations", unit=Unit.CNY)
        fund = account_open(name="关爱基金", owner_type=OwnerType.FUND, owner_id=1, org=world.county,
                            unit=Unit.CNY, floor=0)

    return Book


@pytest.fixture
def award(book):
    def give(account, points, key, by=None):
        return ledger_post(entries=[(book.pool, -points), (account, points)], memo="积分奖励", kind="points.award",
                           key=key, actor=by)

    return give
