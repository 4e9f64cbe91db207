"""Forms for the pledge pages: they parse; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import Organisation, OrgKind

from .models import PledgeItem, Rating


class Styled:
    """Bootstrap classes on every widget (the pages render fields with {{ field }})."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect)):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (photos); each is checked by the service."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class PledgeForm(Styled, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100, required=False)


class ItemForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PledgeItem.Kind.choices)
    text = forms.CharField(label=_("What I pledge"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    target_value = forms.DecimalField(label=_("Target"), required=False, min_value=0.01, max_digits=12,
                                      decimal_places=2)
    target_unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))


ItemFormSet = forms.formset_factory(ItemForm, extra=0, min_num=1, max_num=10, validate_min=True, validate_max=True)


class ReasonForm(Styled, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)


class EvaluateForm(Styled, forms.Form):
    org_score = forms.FloatField(label=_("Organisation's score (0–100)"), min_value=0, max_value=100)


class MilestoneForm(Styled, forms.Form):
    percent = forms.IntegerField(label=_("Progress (%)"), min_value=0, max_value=100)
    text = forms.CharField(label=_("What was done"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    date = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    photos = MultipleFileField(label=_("Photos"))


class ClaimForm(Styled, forms.Form):
    evidence = forms.CharField(label=_("How it was carried out"), max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    on = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    photos = MultipleFileField(label=_("Photos"))


class RatingForm(forms.Form):
    value = forms.ChoiceField(label=_("Your rating"), choices=Rating.Value.choices, widget=forms.RadioSelect)


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    agreed = forms.BooleanField(label=_("I have read the civility rules"), required=False)


class SignupForm(Styled, forms.Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    org = forms.ModelChoiceField(label=_("Village or community"), required=False,
                                 queryset=Organisation.objects.filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY])
                                 .order_by("path"))
    code = forms.CharField(label=_("SMS code"), max_length=6, required=False)
    password = forms.CharField(label=_("Password"), required=False, widget=forms.PasswordInput(render_value=False))
