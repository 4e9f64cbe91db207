"""Forms for the supervision pages: they parse and bound input; the services decide the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from xianfeng.orgs.models import OrgKind

from .draw import STRATUM_LABELS
from .models import AGENDA, Inspection, Method, RespondentType, checklist_for

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"})
TEXT = {"class": "form-control"}


def _bootstrap(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)


class BootstrapForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class OrgCodeField(forms.CharField):
    """An organisation given by its code (the view resolves it within the user's scope)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)


class InspectionForm(BootstrapForm):
    org_code = OrgCodeField(label=_("Inspected organisation (code)"))
    name = forms.CharField(label=_("Name"), max_length=200)
    group_name = forms.CharField(label=_("Group"), max_length=100)
    start = forms.DateField(label=_("Start"), widget=DATE)
    end = forms.DateField(label=_("End"), widget=DATE)
    members = forms.CharField(label=_("Group members (usernames, separated by commas)"), required=False,
                              max_length=500)
    reported_by = forms.CharField(label=_("Report heard from"), required=False, max_length=100)


class PlanForm(BootstrapForm):
    quota_village_community = forms.IntegerField(label=STRATUM_LABELS["village_community"], min_value=0,
                                                 max_value=10000, required=False)
    quota_enterprise = forms.IntegerField(label=STRATUM_LABELS["enterprise"], min_value=0, max_value=10000,
                                          required=False)
    quota_social = forms.IntegerField(label=STRATUM_LABELS["social"], min_value=0, max_value=10000, required=False)
    quota_hospital = forms.IntegerField(label=STRATUM_LABELS["hospital"], min_value=0, max_value=10000, required=False)
    quota_school = forms.IntegerField(label=STRATUM_LABELS["school"], min_value=0, max_value=10000, required=False)
    exclude_months = forms.IntegerField(label=_("Leave out units inspected in the last N months"), min_value=0,
                                        max_value=120)
    questionnaires_issued = forms.IntegerField(label=_("Questionnaires issued"), min_value=0, max_value=10**7)
    satisfaction_mode = forms.ChoiceField(label=_("Satisfaction"), choices=Inspection.SatisfactionMode.choices)
    interval_method = forms.ChoiceField(label=_("Interval"), choices=Inspection.IntervalMethod.choices)
    agenda = forms.MultipleChoiceField(label=_("Agenda"), choices=AGENDA, widget=forms.CheckboxSelectMultiple,
                                       required=False)


class SpotCheckForm(BootstrapForm):
    org_code = OrgCodeField(label=_("Unit (code)"))
    date = forms.DateField(label=_("Date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            max_length=2000)


class SeedForm(BootstrapForm):
    seed = forms.CharField(label=_("Seed announced before the draw"), max_length=200)
    seed_source = forms.CharField(label=_("Where the seed was announced"), max_length=200, required=False)


class ImportForm(BootstrapForm):
    file = forms.FileField(label=_("XLSForm (.xlsx)"))


class NewQuestionnaireForm(BootstrapForm):
    title = forms.CharField(label=_("Title"), max_length=200)


class QuestionForm(BootstrapForm):
    section = forms.CharField(label=_("Section"), required=False, max_length=60)
    name = forms.CharField(label=_("Name (letters, digits, _)"), max_length=60)
    kind = forms.ChoiceField(label=_("Type"), choices=[(t, t) for t in
                                                       ("select_one", "select_multiple", "text", "integer", "decimal",
                                                        "date", "note")])
    label_zh = forms.CharField(label=_("Question (Chinese)"), max_length=500)
    label_en = forms.CharField(label=_("Question (English)"), max_length=500, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    relevant = forms.CharField(label=_("Relevant when"), max_length=500, required=False)
    constraint = forms.CharField(label=_("Constraint"), max_length=500, required=False)
    constraint_message = forms.CharField(label=_("Constraint message"), max_length=200, required=False)
    choices = forms.CharField(label=_("Choices, one per line: name=中文|English"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class RateForm(BootstrapForm):
    rate = forms.ChoiceField(label=_("Rate"), choices=[("awareness", "知晓率"), ("satisfaction", "满意度"),
                                                        ("recognition", "认同感")])
    question = forms.CharField(label=_("Question name"), max_length=60)
    positive = forms.CharField(label=_("Answers counted (names, separated by spaces)"), max_length=200)
    weights = forms.CharField(label=_("Weights (e.g. 1:100 2:75 3:55)"), max_length=200, required=False)


class InterviewForm(BootstrapForm):
    respondent_type = forms.ChoiceField(label=_("Respondent"), choices=RespondentType.choices)
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices)
    unit_code = OrgCodeField(label=_("Unit (code)"), required=False)
    who = forms.CharField(label=_("Who (may stay anonymous)"), max_length=100, required=False)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    date = forms.DateField(label=_("Date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            max_length=5000)


class RecordReviewForm(BootstrapForm):
    unit_code = OrgCodeField(label=_("Unit (code)"))
    date = forms.DateField(label=_("Date"), widget=DATE)
    checked = forms.MultipleChoiceField(label=_("Records found"), required=False,
                                        widget=forms.CheckboxSelectMultiple,
                                        choices=sorted({item for kind in (OrgKind.VILLAGE, OrgKind.ENTERPRISE, "x")
                                                        for item in checklist_for(kind)}))
    evidence = forms.CharField(label=_("Evidence seen"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                               max_length=5000)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            max_length=5000)


class SeminarForm(BootstrapForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    unit_code = OrgCodeField(label=_("Held at (unit code)"), required=False)
    date = forms.DateField(label=_("Date"), widget=DATE)
    members = forms.IntegerField(label=_("Members attending"), min_value=0, max_value=100000)
    residents = forms.IntegerField(label=_("Residents attending"), min_value=0, max_value=100000)
    attendance = forms.CharField(label=_("Attendance"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 max_length=5000)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                            max_length=5000)


class FindingForm(BootstrapForm):
    title = forms.CharField(label=_("Finding"), max_length=200)
    text = forms.CharField(label=_("Details"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    recommendation = forms.CharField(label=_("Recommendation"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class RectificationForm(BootstrapForm):
    org_code = OrgCodeField(label=_("Responsible organisation (code)"))
    task = forms.CharField(label=_("Task"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    deadline = forms.DateField(label=_("Deadline"), widget=DATE)


class ReportBackForm(BootstrapForm):
    report = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    evidence = forms.CharField(label=_("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                               max_length=5000)


class VerifyForm(BootstrapForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("close", _("Verified: close")),
                                                               ("return", _("Return"))])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
