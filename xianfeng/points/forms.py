from django import forms
from django.utils.translation import gettext_lazy as _

from .models import YearEnd


class _Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class RewardForm(_Styled):
    name = forms.CharField(max_length=100, label=_("Item"))
    price = forms.IntegerField(min_value=1, max_value=1_000_000, label=_("Points"))
    stock = forms.IntegerField(min_value=0, max_value=1_000_000, initial=0, label=_("Stock"))


class RestockForm(_Styled):
    reward = forms.IntegerField(widget=forms.HiddenInput)
    add = forms.IntegerField(min_value=-1_000_000, max_value=1_000_000, label=_("Add to stock"))


class RedeemForm(_Styled):
    reward = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=100, initial=1, label=_("Quantity"))
    key = forms.CharField(max_length=80, widget=forms.HiddenInput)


class RuleForm(_Styled):
    base_by_category = forms.JSONField(required=False, label=_("Base points per category (JSON)"),
                                       help_text='{"助老": 5, "维修": 3}')
    default_base = forms.IntegerField(min_value=0, max_value=1000, label=_("Default base points"))
    per_hour = forms.IntegerField(min_value=0, max_value=1000, label=_("Points per hour"))
    daily_cap = forms.IntegerField(min_value=0, max_value=100_000, label=_("Daily cap (0 = none)"))
    yearly_cap = forms.IntegerField(min_value=0, max_value=10_000_000, label=_("Yearly cap (0 = none)"))
    satisfied_bonus = forms.IntegerField(min_value=0, max_value=1000, label=_("Bonus for a satisfied rating"))
    year_end = forms.ChoiceField(choices=YearEnd.choices, label=_("At year end"))
