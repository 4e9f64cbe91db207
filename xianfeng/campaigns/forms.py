"""Forms for the campaigns pages; the services decide what is acceptable, the forms only parse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import OrgKind

from .models import PARTY_CHECKLIST, AwardCategory, Bulletin, DriveTarget, Meeting, Venture, VentureSupport


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
    reason = forms.CharField(label=_("Reason for a correction"), required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate


# ---- creation and editing ------------------------------------------------------------------------------------------

def _date_field(label: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))


class OrgField(forms.ModelChoiceField):
    """An organisation among those the page offers (the view restricts the queryset to the user's scope)."""

    def label_from_instance(self, obj) -> str:
        return obj.full_name or obj.name


class CampaignForm(_Styled):
    org = OrgField(label=_("Target organisation (its subtree)"), queryset=None)
    name = forms.CharField(label=_("Campaign name"), max_length=200)
    start = _date_field(_("Deployment phase"))
    implement_from = _date_field(_("Implementation phase"))
    evaluate_from = _date_field(_("Evaluation phase"))
    end = _date_field(_("Campaign ends"))
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        if orgs is None:
            del self.fields["org"]
        else:
            self.fields["org"].queryset = orgs


ORG_KIND_CHOICES = [(k.value, k.label) for k in OrgKind]


class DeliverableForm(_Styled):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Deliverable"), max_length=100)
    org_kinds = forms.MultipleChoiceField(label=_("Required of"), choices=ORG_KIND_CHOICES,
                                          widget=forms.SelectMultiple(attrs={"size": 4}))
    due = _date_field(_("Due by"))


DeliverableFormSet = forms.formset_factory(DeliverableForm, extra=4, max_num=20)


class DeliverableRecordForm(_Styled):
    done_on = _date_field(_("Done on"))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class MeetingForm(_Styled):
    org = OrgField(label=_("Held by"), queryset=None)
    kind = forms.ChoiceField(label=_("Kind of meeting"), choices=Meeting.Kind.choices)
    date = _date_field(_("Date"))
    title = forms.CharField(label=_("Subject"), max_length=200)
    campaign: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Campaign"), queryset=None, required=False)
    chair = forms.CharField(label=_("Chair"), max_length=50, required=False)
    attendees = forms.CharField(label=_("Attendees"), max_length=2000, required=False,
                                widget=forms.Textarea(attrs={"rows": 2}))
    minutes = forms.CharField(label=_("Minutes and decisions"), max_length=20_000, required=False,
                              widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, orgs=None, campaigns=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["campaign"].queryset = campaigns


class FollowUpForm(_Styled):
    org = OrgField(label=_("Responsible organisation"), queryset=None)
    text = forms.CharField(label=_("Task"), max_length=500)
    due = _date_field(_("Due by"))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class AwardRoundForm(_Styled):
    org = OrgField(label=_("Organised by"), queryset=None)
    name = forms.CharField(label=_("Round name"), max_length=200)
    vote_start = _datetime_field(_("Public evaluation opens"))
    vote_end = _datetime_field(_("Public evaluation closes"))
    vote_weight = forms.IntegerField(label=_("Weight of the public vote (%)"), min_value=0, max_value=100, initial=40)
    publicity_days = forms.IntegerField(label=_("Publicity days"), min_value=1, max_value=60, initial=7)
    votes_per_ip_per_hour = forms.IntegerField(label=_("Votes per address per hour (0: no limit)"), min_value=0,
                                               max_value=100_000, initial=300)

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class CategoryForm(_Styled):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Category"), max_length=100)
    nominee_kind = forms.ChoiceField(label=_("Nominees are"), choices=AwardCategory.NomineeKind.choices)
    quota = forms.IntegerField(label=_("Quota"), min_value=1, max_value=1000)


CategoryFormSet = forms.formset_factory(CategoryForm, extra=2, max_num=30, can_delete=True)


class NominationForm(_Styled):
    category: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Category"), queryset=None)
    nominated_by = OrgField(label=_("Nominating organisation"), queryset=None)
    nominee_org = OrgField(label=_("Nominated organisation"), queryset=None, required=False)
    nominee_id_number = forms.CharField(label=_("Nominated member's ID number"), max_length=18, required=False)
    citation = forms.CharField(label=_("Deeds"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, categories=None, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["nominated_by"].queryset = orgs
        self.fields["nominee_org"].queryset = orgs


class AdvisorBatchForm(_Styled):
    org = OrgField(label=_("Placed by"), queryset=None)
    name = forms.CharField(label=_("Batch"), max_length=100)
    start = _date_field(_("Term starts"))
    end = _date_field(_("Term ends"))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class AdvisorPlaceForm(_Styled):
    batch: forms.ModelChoiceField = forms.ModelChoiceField(label=_("Batch"), queryset=None)
    enterprise = OrgField(label=_("Enterprise"), queryset=None)
    name = forms.CharField(label=_("Advisor's name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=18)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    former_post = forms.CharField(label=_("Former post"), max_length=100, required=False)

    def __init__(self, *args, batches=None, enterprises=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches
        self.fields["enterprise"].queryset = enterprises


class AdvisorLogForm(_Styled):
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m", "%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
    hours = forms.IntegerField(label=_("Hours"), min_value=0, max_value=744, initial=0)
    text = forms.CharField(label=_("Work done"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class DualBrandForm(_Styled):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    output_wan = forms.DecimalField(label=_("Output (10k yuan)"), max_digits=12, decimal_places=1, min_value=0)
    output_growth_pct = forms.DecimalField(label=_("Output growth (%)"), max_digits=6, decimal_places=1,
                                           min_value=-100, max_value=10_000)
    tax_wan = forms.DecimalField(label=_("Tax paid (10k yuan)"), max_digits=12, decimal_places=1, min_value=0)
    employees = forms.IntegerField(label=_("Employees"), min_value=0, max_value=1_000_000)
    checklist = forms.MultipleChoiceField(label=_("Party-building checklist met"), choices=PARTY_CHECKLIST,
                                          required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].widget.attrs.pop("class", None)


class VentureForm(_Styled):
    org = OrgField(label=_("Village or community"), queryset=None)
    name = forms.CharField(label=_("Venture name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind of venture"), choices=Venture.Kind.choices)
    founded = _date_field(_("Founded"))
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class VentureFigureForm(_Styled):
    date = _date_field(_("Date"))
    members = forms.IntegerField(label=_("Members involved"), min_value=0, max_value=1_000_000)
    area_mu = forms.DecimalField(label=_("Area (mu)"), max_digits=10, decimal_places=1, min_value=0)
    households = forms.IntegerField(label=_("Households reached"), min_value=0, max_value=10_000_000)
    income_per_household_yuan = forms.IntegerField(label=_("Extra income per household (yuan)"), min_value=0,
                                                   max_value=100_000_000, initial=0)


class VentureSupportForm(_Styled):
    kind = forms.ChoiceField(label=_("Kind of support"), choices=VentureSupport.Kind.choices)
    date = _date_field(_("Date"))
    title = forms.CharField(label=_("Subject"), max_length=200)
    amount_yuan = forms.DecimalField(label=_("Grant (yuan)"), required=False, max_digits=12, decimal_places=2,
                                     min_value=0)
    fund_org = OrgField(label=_("Paid from the support fund of"), queryset=None, required=False)

    def __init__(self, *args, funds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund_org"].queryset = funds


class DriveForm(_Styled):
    org = OrgField(label=_("Organised by"), queryset=None)
    name = forms.CharField(label=_("Drive name"), max_length=200)
    start = _date_field(_("Starts"))
    end = _date_field(_("Ends"))

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class DriveTargetForm(_Styled):
    org = OrgField(label=_("Organisation"), queryset=None)
    metric = forms.ChoiceField(label=_("Target"), choices=DriveTarget.Metric.choices)
    target = forms.IntegerField(label=_("Number"), min_value=1, max_value=1_000_000)

    def __init__(self, *args, orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs


class FollowUpFromVisitForm(_Styled):
    text = forms.CharField(label=_("Task"), max_length=500)
    due = _date_field(_("Due by"))
