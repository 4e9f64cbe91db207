"""Forms for the activity pages. They parse and bound input; the services decide what is acceptable."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import Organisation, Person

from .models import ActivityKind, Audience, Team

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    org = forms.ModelChoiceField(label=_("Organiser"), queryset=Organisation.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    starts_at = forms.DateTimeField(label=_("Starts"), input_formats=DATETIME_FORMATS, widget=DateTimeLocal())
    ends_at = forms.DateTimeField(label=_("Ends"), input_formats=DATETIME_FORMATS, widget=DateTimeLocal())
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    capacity = forms.IntegerField(label=_("Places (empty: no limit)"), min_value=1, max_value=100000, required=False)
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices)
    lecturer = forms.CharField(label=_("Lecturer"), max_length=100, required=False)
    topic = forms.CharField(label=_("Topic"), max_length=200, required=False)
    materials = forms.CharField(label=_("Materials"), max_length=20000, required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, orgs=None, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs if orgs is not None else Organisation.objects.none()
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()
        start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        self.fields["starts_at"].initial = start
        self.fields["ends_at"].initial = start + dt.timedelta(hours=2)
        _style(self)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    org = forms.ModelChoiceField(label=_("Sponsoring unit"), queryset=Organisation.objects.none())
    skills = forms.CharField(label=_("Skills (comma-separated)"), max_length=300, required=False)
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    open_to_requests = forms.BooleanField(label=_("Open to requests to join"), required=False, initial=True)

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs if orgs is not None else Organisation.objects.none()
        _style(self)


class TeamEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    leader = forms.ModelChoiceField(label=_("Leader"), queryset=Person.objects.none(), required=False)
    skills = forms.CharField(label=_("Skills (comma-separated)"), max_length=300, required=False)
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    open_to_requests = forms.BooleanField(label=_("Open to requests to join"), required=False)

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = Person.objects.filter(
            volunteer_team_memberships__team=team, volunteer_team_memberships__status="active").order_by("name", "id")
        _style(self)


class CheckOutForm(forms.Form):
    check_out_at = forms.DateTimeField(label=_("Check-out time"), input_formats=DATETIME_FORMATS,
                                       widget=DateTimeLocal(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class CertificateForm(forms.Form):
    member = forms.IntegerField(label=_("Member ID"), min_value=1, max_value=2**63 - 1)
    org = forms.ModelChoiceField(label=_("Certifying organisation"), queryset=Organisation.objects.none())
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs if orgs is not None else Organisation.objects.none()
        today = timezone.localdate()
        self.fields["start"].initial = today.replace(month=1, day=1)
        self.fields["end"].initial = today
        _style(self)


class PeriodForm(forms.Form):
    """?start=&end= for figures and lists; defaults to the current year."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def period(self) -> tuple[dt.date | None, dt.date | None]:
        if not self.is_valid():
            return None, None
        return self.cleaned_data.get("start"), self.cleaned_data.get("end")
