from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xianfeng.core.uploads import UploadRefused, check_upload
from xianfeng.orgs.models import Organisation

from .models import DEFAULT_CATEGORIES, Demand, ServiceRecord


def _choices(names) -> list[tuple[str, str]]:
    return [(n, n) for n in names]


class BootstrapMixin:
    """Bootstrap classes on every widget."""

    fields: dict[str, Any]

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            kind = getattr(widget, "input_type", "")
            css = {"checkbox": "form-check-input", "radio": "form-check-input", "select": "form-select"}.get(
                kind, "form-select" if isinstance(widget, forms.Select) else "form-control")
            if not isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", css)


class DemandForm(BootstrapMixin, forms.Form):
    """A new demand; `org` is offered only to staff (a resident's demand goes to the resident's community)."""

    org: forms.ModelChoiceField[Organisation] = forms.ModelChoiceField(queryset=None, required=False, label=_("Community"))
    category = forms.ChoiceField(choices=(), label=_("Category"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("What is needed"))
    household = forms.CharField(max_length=40, required=False, label=_("Household"))
    address = forms.CharField(max_length=200, required=False, label=_("Address"))
    area = forms.CharField(max_length=60, required=False, label=_("Area shown publicly"))
    grid = forms.CharField(max_length=60, required=False, label=_("Grid"))
    urgency = forms.ChoiceField(choices=Demand.Urgency.choices, initial="normal", label=_("Urgency"))
    recurring = forms.BooleanField(required=False, label=_("Recurring need"))
    preferred_times = forms.CharField(max_length=100, required=False, label=_("Preferred times"))
    capacity = forms.IntegerField(min_value=1, max_value=50, initial=1, label=_("People needed"))
    latitude = forms.FloatField(min_value=-90, max_value=90, required=False, label=_("Latitude"),
                                help_text=_("Optional: taken from the household in the grid register if empty"))
    longitude = forms.FloatField(min_value=-180, max_value=180, required=False, label=_("Longitude"))

    def __init__(self, *args, orgs=None, categories=DEFAULT_CATEGORIES, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _choices(categories)
        if orgs is None:
            del self.fields["org"]
            del self.fields["capacity"]
            del self.fields["grid"]
        else:
            self.fields["org"].queryset = orgs
            self.fields["org"].required = True
        self.style()


class FilterForm(BootstrapMixin, forms.Form):
    """The board's filters: category, urgency, status, time (posted within, preferred time), distance. The position
    for distance is the browser's (lat, lng, filled by the page's script) or else the member's household."""

    SORTS = [("new", _("Newest first")), ("near", _("Nearest first"))]

    category = forms.ChoiceField(choices=(), required=False, label=_("Category"))
    urgency = forms.ChoiceField(choices=[("", _("Any")), *Demand.Urgency.choices], required=False,
                                label=_("Urgency"))
    status = forms.ChoiceField(choices=[("", _("Open")), *Demand.Status.choices], required=False, label=_("Status"))
    days = forms.IntegerField(min_value=1, max_value=3650, required=False, label=_("Posted within (days)"))
    when = forms.CharField(max_length=20, required=False, label=_("Preferred time contains"))
    lat = forms.FloatField(min_value=-90, max_value=90, required=False)
    lng = forms.FloatField(min_value=-180, max_value=180, required=False)
    km = forms.FloatField(min_value=0.1, max_value=100, required=False, label=_("Within (km)"))
    sort = forms.ChoiceField(choices=SORTS, required=False, label=_("Order"))

    def __init__(self, *args, categories=DEFAULT_CATEGORIES, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any"))] + _choices(categories)
        self.style()

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lng") is None):
            raise forms.ValidationError(_("A position needs both latitude and longitude."))
        return data


class CategoriesForm(BootstrapMixin, forms.Form):
    names = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), max_length=1000,
                            label=_("Categories, one per line, in order"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()


class RecordForm(BootstrapMixin, forms.Form):
    served_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    hours = forms.DecimalField(min_value=0, max_value=24, decimal_places=2, required=False, label=_("Hours"))
    minutes = forms.IntegerField(min_value=0, max_value=59, required=False, label=_("Minutes"))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("What was done"))
    photo = forms.ImageField(required=False, label=_("Photo"))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo:
            try:  # size, and pixels counted from the header (decompression bombs), as for every uploaded image
                check_upload(photo, filename="photo.jpg", kinds=("image",), max_bytes=8 * 1024 * 1024)
            except UploadRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return photo

    def total_minutes(self) -> int:
        hours = self.cleaned_data.get("hours") or 0
        return int(hours * 60) + (self.cleaned_data.get("minutes") or 0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()


class ConfirmForm(BootstrapMixin, forms.Form):
    rating = forms.ChoiceField(choices=ServiceRecord.Rating.choices, widget=forms.RadioSelect, label=_("Rating"))
    comment = forms.CharField(max_length=300, required=False, label=_("Comment"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()


class PairingForm(BootstrapMixin, forms.Form):
    member = forms.IntegerField(label=_("Member"))
    household = forms.CharField(max_length=40, label=_("Household"))
    start = forms.DateField(label=_("Start"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    notes = forms.CharField(max_length=200, required=False, label=_("Notes"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()
