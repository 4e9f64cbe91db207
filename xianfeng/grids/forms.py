"""Forms for the phone pages: a resident's report, a worker's intake, a visit, and the case actions."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from xianfeng.core.uploads import UploadRefused, check_upload
from xianfeng.orgs.models import Organisation

from .models import Case, CaseCategory

MAX_PHOTO_BYTES = 8 * 1024 * 1024


class BootstrapMixin:
    """Bootstrap classes on every widget, and is-invalid on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()


class ReportForm(BootstrapMixin, forms.Form):
    """What a resident reports: the problem, a photo, and a point on the map or a typed address."""

    category = forms.ModelChoiceField(queryset=CaseCategory.objects.filter(is_active=True), label=pgettext_lazy("grids", "Category"),
                                      empty_label=None)
    description = forms.CharField(label=pgettext_lazy("grids", "What is the problem?"), max_length=2000, widget=forms.Textarea(
        attrs={"rows": 4}))
    photo = forms.ImageField(label=pgettext_lazy("grids", "Photo"), required=False)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    address = forms.CharField(label=pgettext_lazy("grids", "Address"), max_length=200, required=False)

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_PHOTO_BYTES:
            raise forms.ValidationError(pgettext_lazy("grids", "The photo is larger than 8 MB."))
        if photo:
            try:  # pixels counted from the header (decompression bombs), as for every uploaded image
                check_upload(photo, filename="photo.jpg", kinds=("image",), max_bytes=MAX_PHOTO_BYTES)
            except UploadRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return photo

    def clean(self):
        data = super().clean()
        has_point = data.get("latitude") is not None and data.get("longitude") is not None
        if not has_point and not (data.get("address") or "").strip() and not self.errors:
            raise forms.ValidationError(pgettext_lazy("grids", "Choose the place on the map or type the address."))
        return data


class StaffCaseForm(ReportForm):
    """A grid worker's intake on a resident's behalf."""

    org = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=pgettext_lazy("grids", "Village or community"))
    reporter_name = forms.CharField(label=pgettext_lazy("grids", "Resident's name"), max_length=50, required=False)
    reporter_phone = forms.CharField(label=pgettext_lazy("grids", "Resident's phone"), max_length=20, required=False)

    field_order = ["org", "category", "description", "address", "photo", "reporter_name", "reporter_phone"]

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs if orgs is not None else Organisation.objects.none()


class VisitForm(BootstrapMixin, forms.Form):
    """A visit in one screen: what was discussed; a need or a problem found becomes a demand or a case."""

    date = forms.DateField(label=pgettext_lazy("grids", "Date"), widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=pgettext_lazy("grids", "What was discussed"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    need_found = forms.BooleanField(label=pgettext_lazy("grids", "A need was found (becomes a demand)"), required=False)
    need_category = forms.ChoiceField(label=pgettext_lazy("grids", "Kind of need"), required=False, choices=())
    need_description = forms.CharField(label=pgettext_lazy("grids", "The need"), max_length=1000, required=False)
    problem_found = forms.BooleanField(label=pgettext_lazy("grids", "A problem was found (becomes a case)"), required=False)
    problem_category = forms.ModelChoiceField(queryset=CaseCategory.objects.filter(is_active=True),
                                              label=pgettext_lazy("grids", "Problem category"), required=False)
    problem_description = forms.CharField(label=pgettext_lazy("grids", "The problem"), max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("date", timezone.localdate())
        super().__init__(*args, **kwargs)
        from xianfeng.demands.models import Category

        self.fields["need_category"].choices = [("", "—")] + list(Category.choices)
        for name in ("need_found", "problem_found"):
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def clean(self):
        data = super().clean()
        if data.get("need_found"):
            if not data.get("need_category"):
                self.add_error("need_category", pgettext_lazy("grids", "Choose the kind of need."))
            if not (data.get("need_description") or "").strip():
                self.add_error("need_description", pgettext_lazy("grids", "Describe the need."))
        if data.get("problem_found"):
            if not data.get("problem_category"):
                self.add_error("problem_category", pgettext_lazy("grids", "Choose the problem's category."))
            if not (data.get("problem_description") or "").strip():
                self.add_error("problem_description", pgettext_lazy("grids", "Describe the problem."))
        return data


class RateForm(forms.Form):
    rating = forms.ChoiceField(choices=Case.Rating.choices, widget=forms.RadioSelect, label=pgettext_lazy("grids", "Your rating"))
    note = forms.CharField(max_length=300, required=False, label=pgettext_lazy("grids", "Comment"))
