"""Reads the inspection pages and the API share (no page counts records itself)."""

from __future__ import annotations

from .models import (
    Finding,
    Inspection,
    Interview,
    Questionnaire,
    RecordReview,
    Rectification,
    Response,
    Seminar,
)


def inspection_counts(inspection: Inspection) -> dict[str, int]:
    """The inspection's work so far, as its detail page shows it: questionnaires, responses, interviews, record
    reviews, seminars, findings (not dropped), rectification tasks and the open ones."""
    tasks = Rectification.objects.filter(inspection=inspection)
    return {
        "questionnaires": Questionnaire.objects.filter(inspection=inspection).count(),
        "responses": Response.objects.filter(inspection=inspection).count(),
        "interviews": Interview.objects.filter(inspection=inspection).count(),
        "reviews": RecordReview.objects.filter(inspection=inspection).count(),
        "seminars": Seminar.objects.filter(inspection=inspection).count(),
        "findings": Finding.objects.filter(inspection=inspection).exclude(status=Finding.Status.DROPPED).count(),
        "rectifications": tasks.count(),
        "open_rectifications": tasks.open().count(),
    }


def public_rectifications(inspection: Inspection):
    """The inspection's published rectification list (一公开): every task, with its organisation and finding."""
    return Rectification.objects.filter(inspection=inspection).select_related("org", "finding")
