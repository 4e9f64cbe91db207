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
    """The rules of an organisation, with one base-points field per category it offers (and 志愿服务, the events
    module's volunteer hours). A category left empty earns the default base."""

    default_base = forms.IntegerField(min_value=0, max_value=1000, label=_("Default base points"))
    per_hour = forms.IntegerField(min_value=0, max_value=1000, label=_("Points per hour"))
    daily_cap = forms.IntegerField(min_value=0, max_value=100_000, label=_("Daily cap (0 = none)"))
    yearly_cap = forms.IntegerField(min_value=0, max_value=10_000_000, label=_("Yearly cap (0 = none)"))
    satisfied_bonus = forms.IntegerField(min_value=0, max_value=1000, label=_("Bonus for a satisfied rating"))
    year_end = forms.ChoiceField(choices=YearEnd.choices, label=_("At year end"))

    def __init__(self, *args, categories=(), base_by_category=None, **kwargs):
        super().__init__(*args, **kwargs)
        base_by_category = base_by_category or {}
        self.categories = list(categories)
        for i, name in enumerate(self.categories):
            self.fields[f"base_{i}"] = forms.IntegerField(
                min_value=0, max_value=1000, required=False, initial=base_by_category.get(name),
                label=_("Base points: %(category)s") % {"category": name},
                widget=forms.NumberInput(attrs={"class": "form-control", "placeholder": _("default")}))

    def rule_values(self, existing: dict) -> dict:
        """The cleaned values for points_rule_set; base points of categories not shown here are kept."""
        data = dict(self.cleaned_data)
        base = {k: v for k, v in (existing or {}).items() if k not in self.categories}
        for i, name in enumerate(self.categories):
            value = data.pop(f"base_{i}", None)
            if value is not None:
                base[name] = value
        data["base_by_category"] = base
        return data
