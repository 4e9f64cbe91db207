"""Forms for the organisation pages (the list filters are the shared FilterSets in filters.py)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class GuidanceVisitForm(forms.Form):
    """A guidance visit to record on a contact point (the service decides whether the date is acceptable)."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    notes = forms.CharField(label=_("Guidance given"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    follow_ups = forms.CharField(label=_("Follow-ups"), required=False, max_length=4000,
                                 widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")
