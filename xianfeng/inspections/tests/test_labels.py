"""Interval methods are shown by name on the pages, never as their keys."""

from django.template.loader import render_to_string

from xianfeng.inspections.templatetags.inspections import method_label


def test_methods_are_named_as_people_read_them():
    assert method_label("wilson") == "Wilson"
    assert method_label("clopper_pearson") == "Clopper–Pearson（精确）"
    assert method_label("wilson (weighted score)") == "Wilson（加权得分）"


def test_a_rate_line_names_its_method():
    html = render_to_string("inspections/_rate_line.html", {"r": {"estimate": 0.995, "n": 200, "ci_low": 0.972,
                                                                  "ci_high": 0.999, "method": "wilson",
                                                                  "response_rate": None}})
    assert "· Wilson" in html and "wilson" not in html
