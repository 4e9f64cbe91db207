"""Forms for the campaigns pages; the services decide what is acceptable, the forms only parse."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Bulletin


class _Styled(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
            field.widget.attrs.setdefault("class", css)


class PlanForm(_Styled):
    title = forms.CharField(label=_("Plan title"), max_length=200)
    text = forms.CharField(label=_("Plan text"), required=False, max_length=50_000, widget=forms.Textarea(attrs={"rows": 8}))
    file = forms.FileField(label=_("Plan file (PDF, Word, WPS)"), required=False)


class ReviewForm(_Styled):
    note = forms.CharField(label=_("Reviewer's note"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))


class FollowUpCloseForm(_Styled):
    done_on = forms.DateField(label=_("Done on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(label=_("Follow-up outcome"), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["done_on"].initial = timezone.localdate


class ScoreForm(_Styled):
    score = forms.IntegerField(label=_("Score (0–100)"), min_value=0, max_value=100)


class ObjectionAnswerForm(_Styled):
    answer = forms.CharField(label=_("Committee's answer"), max_length=3000, widget=forms.Textarea(attrs={"rows": 2}))
    upheld = forms.BooleanField(label=_("The objection is upheld"), required=False)


class ObjectionForm(_Styled):
    name = forms.CharField(label=_("Your name"), max_length=50, required=False)
    contact = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    text = forms.CharField(label=_("Objection"), max_length=3000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class BulletinForm(_Styled):
    kind = forms.ChoiceField(label=_("Kind of bulletin"), choices=Bulletin.Kind.choices)
    issue = forms.IntegerField(label=_("Issue number"), required=False, min_value=1, max_value=100_000)
    title = forms.CharField(label=_("Headline"), max_length=200)
    body = forms.CharField(label=_("Body text"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 6}))
    image = forms.FileField(label=_("Image"), required=False)
    publish = forms.BooleanField(label=_("Publish now"), required=False)


class DriveReportForm(_Styled):
    date = forms.DateField(label=_("As of"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    achieved = forms.IntegerField(label=_("Achieved so far"), min_value=0, max_value=1_000_000)
    note = forms.CharField(label=_("Progress note"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate
