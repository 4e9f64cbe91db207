from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import Organisation, Resident

from .models import PostService


class PostForm(forms.Form):
    org = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Village or community"))
    name = forms.CharField(label=_("Post name"), max_length=60)
    area = forms.CharField(label=_("Responsibility area"), max_length=200)
    duties = forms.CharField(label=_("Duties"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=50, initial=2)

    def __init__(self, *args: Any, orgs: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs  # type: ignore[attr-defined]


class ServiceForm(forms.Form):
    served_on = forms.DateField(label=_("Date of service"), widget=forms.DateInput(attrs={"type": "date"}))
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=1440, initial=60)
    notes = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    resident = forms.ModelChoiceField(queryset=Resident.objects.none(), label=_("Resident served"), required=False)
    pledge = forms.ModelChoiceField(queryset=Resident.objects.none(), label=_("Pledge it fulfils"), required=False)

    def __init__(self, *args: Any, residents: Any, pledges: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents  # type: ignore[attr-defined]
        self.fields["resident"].label_from_instance = (  # type: ignore[attr-defined]
            lambda r: f"{r.person.name}（{r.address}）" if r.address else r.person.name)
        self.fields["pledge"].queryset = pledges  # type: ignore[attr-defined]
        self.fields["pledge"].label_from_instance = (  # type: ignore[attr-defined]
            lambda p: f"{p.round.name}：{p.title}" if p.title else p.round.name)


class ConfirmForm(forms.Form):
    rating = forms.ChoiceField(label=_("Rating"), choices=PostService.Rating.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment"), max_length=300, required=False)
