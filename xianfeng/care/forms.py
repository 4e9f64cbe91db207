from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import Organisation

from .models import Alert, CareAction, CareCase, CareFund, EscalationPolicy
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
    fund: forms.ModelChoiceField[CareFund] = forms.ModelChoiceField(label=_("Fund"), queryset=None)
    amount = YuanField(label=_("Amount (yuan)"), max_length=20)
    reason = forms.CharField(label=_("Purpose"), max_length=300)

    def __init__(self, *args, funds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = funds


class AllocateForm(StyledForm):
    target: forms.ModelChoiceField[CareFund] = forms.ModelChoiceField(label=_("Sub-fund"), queryset=None)
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


class DeviceForm(StyledForm):
    """Registering a device (serial, holder through the care case, place) or, with `editing`, changing it."""

    serial = forms.CharField(label=_("Serial"), max_length=40)
    model = forms.CharField(label=_("Model"), max_length=60, required=False)
    case: forms.ModelChoiceField[CareCase] = forms.ModelChoiceField(label=_("Holder (care case)"), queryset=None)
    org: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(label=_("Village or community"), queryset=None)
    address = forms.CharField(label=_("Address"), max_length=200)
    grid = forms.CharField(label=_("Grid"), max_length=60, required=False)
    heartbeat_minutes = forms.IntegerField(label=_("Heartbeat every (minutes)"), min_value=1, max_value=1440,
                                           initial=30)
    policy: forms.ModelChoiceField[EscalationPolicy] = forms.ModelChoiceField(
        label=_("Escalation policy of its own"), queryset=None, required=False,
        help_text=_("Empty: the community's default applies."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, cases=None, orgs=None, policies=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases
        self.fields["org"].queryset = orgs
        self.fields["policy"].queryset = policies
        self.fields["is_active"].widget.attrs["class"] = "form-check-input"
        if editing:
            for name in ("serial", "case", "org"):
                del self.fields[name]
        else:
            del self.fields["is_active"]


class ContactForm(StyledForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    level = forms.TypedChoiceField(label=_("Level"), coerce=int,
                                   choices=[(1, _("1 · volunteer or family")), (2, _("2 · grid team"))])
    relation = forms.ChoiceField(label=_("Relation"), choices=[])

    def __init__(self, *args, **kwargs):
        from .models import DeviceContact

        super().__init__(*args, **kwargs)
        self.fields["relation"].choices = DeviceContact.Relation.choices

    def clean_username(self):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(username=self.cleaned_data["username"].strip(), is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active user has this username."))
        return user


class PolicyForm(StyledForm):
    org: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(label=_("Organisation"), queryset=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    ack_timeout_seconds = forms.IntegerField(label=_("Wait for acknowledgement per level (seconds)"), min_value=5,
                                             max_value=3600, initial=60)
    repeat_seconds = forms.IntegerField(label=_("Call the last level again every (seconds)"), min_value=5,
                                        max_value=3600, initial=60)
    channels = forms.MultipleChoiceField(label=_("Channels"), choices=[], widget=forms.CheckboxSelectMultiple)
    is_default = forms.BooleanField(label=_("Default for the organisation"), required=False, initial=True)

    def __init__(self, *args, orgs=None, editing=False, **kwargs):
        from xianfeng.notify.models import Channel

        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["channels"].choices = Channel.choices
        self.fields["channels"].widget.attrs["class"] = "form-check-input"
        self.fields["is_default"].widget.attrs["class"] = "form-check-input"
        if editing:
            del self.fields["org"]


class CaseForm(StyledForm):
    id_number = forms.CharField(label=_("Member's ID number"), max_length=18)
    org: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(label=_("Responsible organisation"), queryset=None)
    reason = forms.ChoiceField(label=_("Reason"), choices=[])
    visit_every_days = forms.IntegerField(label=_("Visit every (days)"), min_value=1, max_value=366, initial=30)
    next_visit_due = forms.DateField(label=_("First visit due"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))
    carers = forms.CharField(label=_("Carers (usernames, separated by spaces or commas)"), max_length=500,
                             required=False)
    notes = forms.CharField(label=_("Situation"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, orgs=None, **kwargs):
        from .models import CareCase

        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["reason"].choices = CareCase.Reason.choices

    def clean_carers(self):
        return usernames_to_users(self.cleaned_data["carers"])


class CarersForm(StyledForm):
    carers = forms.CharField(label=_("Carers (usernames, separated by spaces or commas)"), max_length=500,
                             required=False)

    def clean_carers(self):
        return usernames_to_users(self.cleaned_data["carers"])


def usernames_to_users(text: str) -> list:
    """'a, b c' → the active users with those usernames; a ValidationError naming any that is unknown."""
    import re

    from django.contrib.auth import get_user_model

    names = [n for n in re.split(r"[\s,，、]+", text or "") if n]
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names, is_active=True)}
    unknown = [n for n in names if n not in users]
    if unknown:
        raise forms.ValidationError(_("Unknown users: %(names)s") % {"names": "、".join(unknown)})
    return [users[n] for n in dict.fromkeys(names)]
