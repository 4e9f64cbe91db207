from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Alert, CareAction
from .services import CareError, parse_yuan


class StyledForm(forms.Form):
    """Bootstrap classes on every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class PeriodForm(StyledForm):
    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date", "aria-label": _("From")}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date", "aria-label": _("To")}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data

    def period(self, default_days: int | None = None) -> tuple[dt.date | None, dt.date | None]:
        if not self.is_valid():
            start = None
            end = None
        else:
            start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if start is None and end is None and default_days:
            end = timezone.localdate()
            start = end - dt.timedelta(days=default_days - 1)
        return start, end


class YuanField(forms.CharField):
    """An amount in yuan (up to two decimals), cleaned to integer fen."""

    def clean(self, value):
        value = super().clean(value)
        try:
            return parse_yuan(value)
        except CareError as exc:
            raise forms.ValidationError(exc.messages) from None


class ActionForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=CareAction.Kind.choices)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DisbursementForm(StyledForm):
    fund = forms.ModelChoiceField(label=_("Fund"), queryset=None)
    amount = YuanField(label=_("Amount (yuan)"), max_length=20)
    reason = forms.CharField(label=_("Purpose"), max_length=300)

    def __init__(self, *args, funds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds


class AllocateForm(StyledForm):
    target = forms.ModelChoiceField(label=_("Sub-fund"), queryset=None)
    amount = YuanField(label=_("Amount (yuan)"), max_length=20)
    memo = forms.CharField(label=_("Memo"), max_length=200, required=False)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, children=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = children


class ResolveForm(StyledForm):
    OUTCOMES = [(v, label) for v, label in Alert.Outcome.choices if v != Alert.Outcome.BACK_ONLINE]
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOMES)
    notes = forms.CharField(label=_("Notes"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))
