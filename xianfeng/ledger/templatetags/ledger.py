from django import template

register = template.Library()


@register.filter
def ledger_amount(amount, account):
    """An amount in the account's unit: points as an integer, fen as yuan with two decimals."""
    if amount is None:
        return ""
    return account.format_amount(int(amount))
