"""Forms for the supervision pages: they parse and bound input; the services decide the rules."""

from django import forms
from django.utils.translation import pgettext_lazy

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
    org_code = OrgCodeField(label=pgettext_lazy("inspections", "Inspected organisation (code)"))
    name = forms.CharField(label=pgettext_lazy("inspections", "Name"), max_length=200)
    group_name = forms.CharField(label=pgettext_lazy("inspections", "Group"), max_length=100)
    start = forms.DateField(label=pgettext_lazy("inspections", "Start"), widget=DATE)
    end = forms.DateField(label=pgettext_lazy("inspections", "End"), widget=DATE)
    members = forms.CharField(
        label=pgettext_lazy("inspections", "Group members (usernames, separated by commas)"), required=False, max_length=500
    )
    reported_by = forms.CharField(label=pgettext_lazy("inspections", "Report heard from"), required=False, max_length=100)


class PlanForm(BootstrapForm):
    quota_village_community = forms.IntegerField(label=STRATUM_LABELS["village_community"], min_value=0, max_value=10000, required=False)
    quota_enterprise = forms.IntegerField(label=STRATUM_LABELS["enterprise"], min_value=0, max_value=10000, required=False)
    quota_social = forms.IntegerField(label=STRATUM_LABELS["social"], min_value=0, max_value=10000, required=False)
    quota_hospital = forms.IntegerField(label=STRATUM_LABELS["hospital"], min_value=0, max_value=10000, required=False)
    quota_school = forms.IntegerField(label=STRATUM_LABELS["school"], min_value=0, max_value=10000, required=False)
    exclude_months = forms.IntegerField(
        label=pgettext_lazy("inspections", "Leave out units inspected in the last N months"), min_value=0, max_value=120
    )
    questionnaires_issued = forms.IntegerField(label=pgettext_lazy("inspections", "Questionnaires issued"), min_value=0, max_value=10**7)
    satisfaction_mode = forms.ChoiceField(label=pgettext_lazy("inspections", "Satisfaction"), choices=Inspection.SatisfactionMode.choices)
    interval_method = forms.ChoiceField(label=pgettext_lazy("inspections", "Interval"), choices=Inspection.IntervalMethod.choices)
    agenda = forms.MultipleChoiceField(
        label=pgettext_lazy("inspections", "Agenda"), choices=AGENDA, widget=forms.CheckboxSelectMultiple, required=False
    )


class SpotCheckForm(BootstrapForm):
    org_code = OrgCodeField(label=pgettext_lazy("inspections", "Unit (code)"))
    date = forms.DateField(label=pgettext_lazy("inspections", "Date"), widget=DATE)
    notes = forms.CharField(
        label=pgettext_lazy("inspections", "Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class SeedForm(BootstrapForm):
    seed = forms.CharField(label=pgettext_lazy("inspections", "Seed announced before the draw"), max_length=200)
    seed_source = forms.CharField(label=pgettext_lazy("inspections", "Where the seed was announced"), max_length=200, required=False)


class ImportForm(BootstrapForm):
    file = forms.FileField(label=pgettext_lazy("inspections", "XLSForm (.xlsx)"))


class NewQuestionnaireForm(BootstrapForm):
    title = forms.CharField(label=pgettext_lazy("inspections", "Title"), max_length=200)


class QuestionForm(BootstrapForm):
    section = forms.CharField(label=pgettext_lazy("inspections", "Section"), required=False, max_length=60)
    name = forms.CharField(label=pgettext_lazy("inspections", "Name (letters, digits, _)"), max_length=60)
    kind = forms.ChoiceField(
        label=pgettext_lazy("inspections", "Type"),
        choices=[(t, t) for t in ("select_one", "select_multiple", "text", "integer", "decimal", "date", "note")],
    )
    label_zh = forms.CharField(label=pgettext_lazy("inspections", "Question (Chinese)"), max_length=500)
    label_en = forms.CharField(label=pgettext_lazy("inspections", "Question (English)"), max_length=500, required=False)
    required = forms.BooleanField(label=pgettext_lazy("inspections", "Required"), required=False)
    relevant = forms.CharField(label=pgettext_lazy("inspections", "Relevant when"), max_length=500, required=False)
    constraint = forms.CharField(label=pgettext_lazy("inspections", "Constraint"), max_length=500, required=False)
    constraint_message = forms.CharField(label=pgettext_lazy("inspections", "Constraint message"), max_length=200, required=False)
    choices = forms.CharField(
        label=pgettext_lazy("inspections", "Choices, one per line: name=中文|English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class RateForm(BootstrapForm):
    rate = forms.ChoiceField(
        label=pgettext_lazy("inspections", "Rate"), choices=[("awareness", "知晓率"), ("satisfaction", "满意度"), ("recognition", "认同感")]
    )
    question = forms.CharField(label=pgettext_lazy("inspections", "Question name"), max_length=60)
    positive = forms.CharField(label=pgettext_lazy("inspections", "Answers counted (names, separated by spaces)"), max_length=200)
    weights = forms.CharField(label=pgettext_lazy("inspections", "Weights (e.g. 1:100 2:75 3:55)"), max_length=200, required=False)


class InterviewForm(BootstrapForm):
    respondent_type = forms.ChoiceField(label=pgettext_lazy("inspections", "Respondent"), choices=RespondentType.choices)
    method = forms.ChoiceField(label=pgettext_lazy("inspections", "Method"), choices=Method.choices)
    unit_code = OrgCodeField(label=pgettext_lazy("inspections", "Unit (code)"), required=False)
    who = forms.CharField(label=pgettext_lazy("inspections", "Who (may stay anonymous)"), max_length=100, required=False)
    place = forms.CharField(label=pgettext_lazy("inspections", "Place"), max_length=200, required=False)
    date = forms.DateField(label=pgettext_lazy("inspections", "Date"), widget=DATE)
    notes = forms.CharField(
        label=pgettext_lazy("inspections", "Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class RecordReviewForm(BootstrapForm):
    unit_code = OrgCodeField(label=pgettext_lazy("inspections", "Unit (code)"))
    date = forms.DateField(label=pgettext_lazy("inspections", "Date"), widget=DATE)
    checked = forms.MultipleChoiceField(
        label=pgettext_lazy("inspections", "Records found"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=sorted({item for kind in (OrgKind.VILLAGE, OrgKind.ENTERPRISE, "x") for item in checklist_for(kind)}),
    )
    evidence = forms.CharField(
        label=pgettext_lazy("inspections", "Evidence seen"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    notes = forms.CharField(
        label=pgettext_lazy("inspections", "Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class SeminarForm(BootstrapForm):
    title = forms.CharField(label=pgettext_lazy("inspections", "Title"), max_length=200)
    unit_code = OrgCodeField(label=pgettext_lazy("inspections", "Held at (unit code)"), required=False)
    date = forms.DateField(label=pgettext_lazy("inspections", "Date"), widget=DATE)
    members = forms.IntegerField(label=pgettext_lazy("inspections", "Members attending"), min_value=0, max_value=100000)
    residents = forms.IntegerField(label=pgettext_lazy("inspections", "Residents attending"), min_value=0, max_value=100000)
    attendance = forms.CharField(
        label=pgettext_lazy("inspections", "Attendance"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
    notes = forms.CharField(
        label=pgettext_lazy("inspections", "Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class FindingForm(BootstrapForm):
    title = forms.CharField(label=pgettext_lazy("inspections", "Finding"), max_length=200)
    text = forms.CharField(label=pgettext_lazy("inspections", "Details"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    recommendation = forms.CharField(
        label=pgettext_lazy("inspections", "Recommendation"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class RectificationForm(BootstrapForm):
    org_code = OrgCodeField(label=pgettext_lazy("inspections", "Responsible organisation (code)"))
    task = forms.CharField(label=pgettext_lazy("inspections", "Task"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    deadline = forms.DateField(label=pgettext_lazy("inspections", "Deadline"), widget=DATE)


class ReportBackForm(BootstrapForm):
    report = forms.CharField(
        label=pgettext_lazy("inspections", "What was done"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000
    )
    evidence = forms.CharField(
        label=pgettext_lazy("inspections", "Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class VerifyForm(BootstrapForm):
    decision = forms.ChoiceField(
        label=pgettext_lazy("inspections", "Decision"),
        choices=[("close", pgettext_lazy("inspections", "Verified: close")), ("return", pgettext_lazy("inspections", "Return"))],
    )
    note = forms.CharField(
        label=pgettext_lazy("inspections", "Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
