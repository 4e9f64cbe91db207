"""XLSForm import (several forms), the expressions, and answer checking."""

import datetime as dt

import pytest

from xianfeng.inspections import expr, survey

from .conftest import CHOICES, SURVEY, survey_bytes, xlsform


def test_a_bilingual_form_with_groups_skip_logic_constraints_and_a_choice_filter_imports():
    form = survey.import_xlsform(survey_bytes(), filename="s.xlsx")
    assert form["title"] == "群众满意度调查问卷"
    assert form["languages"] == ["zh", "en"] and form["default_language"] == "zh"
    assert [s["name"] for s in form["sections"]] == ["about", "views", "section3"]
    q = {q["name"]: q for q in survey.questions(form)}
    assert q["awareness"]["label"] == {"zh": "您知道本地正在开展创先争优活动吗？", "en": "Do you know the campaign?"}
    assert q["satisfaction"]["relevant"] == ["op", "=", ["ref", "awareness"], ["str", "yes"]]
    assert q["age"]["required"] and q["age"]["constraint_message"] == {"zh": "年龄须在18到120岁之间"}
    assert q["village"]["choice_filter"] == ["op", "=", ["col", "town"], ["ref", "town"]]
    assert q["how"]["type"] == "select_multiple" and q["thanks"]["type"] == "note"
    assert form["rates"]["satisfaction"] == {"question": "satisfaction", "positive": ["1", "2"],
                                             "weights": {"1": 1.0, "2": 0.75, "3": 0.55, "4": 0.0}}


def test_skip_logic_drops_answers_to_questions_that_are_not_relevant():
    form = survey.import_xlsform(survey_bytes(), filename="s.xlsx")
    clean, errors = survey.clean_answers(form, {"who": "member", "age": "30", "awareness": "no",
                                                "satisfaction": "1"})
    assert errors == {}
    assert clean == {"who": "member", "age": 30, "awareness": "no"}


def test_required_constraint_and_choice_errors_name_the_question():
    form = survey.import_xlsform(survey_bytes(), filename="s.xlsx")
    clean, errors = survey.clean_answers(form, {"who": "alien", "age": "12", "awareness": "yes",
                                                "how": ["tv", "web", "board"], "town": "wy", "village": "yl"})
    assert errors == {"who": ["请选择本题给出的选项"], "age": ["年龄须在18到120岁之间"],
                      "satisfaction": ["此题必答"], "how": ["最多选两项"], "village": ["请选择本题给出的选项"]}


def test_choice_filter_allows_the_choices_of_the_chosen_town():
    form = survey.import_xlsform(survey_bytes(), filename="s.xlsx")
    clean, errors = survey.clean_answers(form, {"who": "resident", "age": 70, "awareness": "yes",
                                                "satisfaction": "2", "town": "qs", "village": "yl"})
    assert errors == {} and clean["village"] == "yl"


def test_an_xlsform_with_a_missing_choice_list_reports_pyxforms_row_and_imports_nothing():
    data = xlsform([["type", "name", "label"], ["integer", "age", "Age"], ["select_one nolist", "q", "Q"]],
                   [["list_name", "name", "label"], ["yn", "yes", "Yes"]])
    with pytest.raises(survey.FormError) as exc:
        survey.import_xlsform(data, filename="bad.xlsx")
    assert "[row : 3]" in exc.value.messages[0] and "nolist" in exc.value.messages[0]


def test_a_bad_expression_is_reported_with_sheet_row_and_column():
    rows = [["type", "name", "label", "constraint"], ["integer", "age", "Age", ". >= 18 and"],
            ["integer", "n", "N", ". > 1 1"]]
    with pytest.raises(survey.FormError) as exc:
        survey.import_xlsform(xlsform(rows), filename="bad.xlsx")
    assert exc.value.messages[0] == "survey 表第2行（age） constraint 列：表达式不完整"
    assert exc.value.messages[1].startswith("survey 表第3行（n） constraint 列：多余的内容")


def test_a_reference_to_a_missing_question_is_pyxforms_error_with_its_row():
    rows = [["type", "name", "label", "relevant"], ["integer", "age", "Age", ""], ["integer", "n", "N", "${nowhere} > 1"]]
    with pytest.raises(survey.FormError) as exc:
        survey.import_xlsform(xlsform(rows), filename="bad.xlsx")
    assert "[row : 3]" in exc.value.messages[0] and "nowhere" in exc.value.messages[0]


def test_a_form_without_language_columns_and_named_rate_questions_gets_default_rates():
    rows = [["type", "name", "label"], ["select_one yn", "awareness", "知道吗"], ["date", "when", "日期"],
            ["decimal", "score", "得分"]]
    form = survey.import_xlsform(xlsform(rows, [["list_name", "name", "label"], ["yn", "yes", "是"],
                                                ["yn", "no", "否"]]), filename="plain.xlsx")
    assert form["rates"] == {"awareness": {"question": "awareness", "positive": ["yes"], "weights": {}}}
    clean, errors = survey.clean_answers(form, {"awareness": "yes", "when": "2026-09-14", "score": "8.5"})
    assert errors == {} and clean == {"awareness": "yes", "when": "2026-09-14", "score": 8.5}
    _, errors = survey.clean_answers(form, {"when": "14/9/2026", "score": "x"})
    assert errors == {"when": ["请填写日期（年-月-日）"], "score": ["请填写数字"]}


def test_only_xlsx_is_accepted():
    with pytest.raises(survey.FormError):
        survey.import_xlsform(b"type,name\n", filename="form.csv")


def test_expressions_follow_xpath_rules():
    answers = {"a": "yes", "n": 5, "m": ["x", "y"], "d": "2026-09-14"}
    cases = {
        "${a} = 'yes' and ${n} > 3": True, "${n} div 2 = 2.5": True, "${n} mod 2 = 1": True,
        "not(${a} = 'no') or false()": True, "count-selected(${m}) = 2": True, "selected(${m}, 'y')": True,
        "string-length(${a}) = 3": True, "regex(${a}, '^y')": True, "if(${n} > 9, 'big', 'small') = 'small'": True,
        "${d} < '2026-10-01'": True, "${missing} = ''": True, "-${n} < 0": True, "concat(${a}, 'x') = 'yesx'": True,
    }
    for text, expected in cases.items():
        assert expr.truth(expr.parse(text), answers=answers, today=lambda: dt.date(2026, 9, 30)) is expected, text


@pytest.mark.parametrize("text", ["${a} =", "foo(1)", "(1", "1 2", "${a} @ 1"])
def test_malformed_expressions_are_refused(text):
    with pytest.raises(expr.ExpressionError):
        expr.parse(text)


def test_questions_built_in_the_ui_check_names_choices_and_references():
    form = survey.empty_form("UI")
    form = survey.add_question(form, section="", name="awareness", kind="select_one", label_zh="知道吗",
                               label_en="Aware?", required=True, choices="yes=是|Yes\nno=否|No")
    form = survey.add_question(form, section="", name="why", kind="text", label_zh="为什么",
                               relevant="${awareness} = 'no'")
    assert form["rates"]["awareness"]["positive"] == ["yes"]
    with pytest.raises(survey.FormError) as exc:
        survey.add_question(form, section="", name="why", kind="select_one", label_zh="",
                            relevant="${nothing} = 1")
    assert len(exc.value.messages) == 4
    _, errors = survey.clean_answers(form, {"awareness": "yes", "why": "x"})
    assert errors == {}


def _ui_form():
    form = survey.empty_form("UI")
    form = survey.add_question(form, section="", name="awareness", kind="select_one", label_zh="知道吗",
                               choices="yes=是\nno=否")
    form = survey.add_question(form, section="", name="why", kind="text", label_zh="为什么",
                               relevant="${awareness} = 'no'")
    return survey.add_question(form, section="", name="age", kind="integer", label_zh="年龄")


def _names(form):
    return [q["name"] for q in survey.questions(form)]


def test_questions_move_within_their_section_but_never_before_what_they_read():
    form = _ui_form()
    moved = survey.move_question(form, name="age", offset=-1)
    assert _names(moved) == ["awareness", "age", "why"] and _names(form) == ["awareness", "why", "age"]
    with pytest.raises(survey.FormError, match="引用了 awareness"):
        survey.move_question(form, name="why", offset=-1)  # would come before the answer it reads
    with pytest.raises(survey.FormError, match="引用了 awareness"):
        survey.move_question(form, name="awareness", offset=1)
    with pytest.raises(survey.FormError, match="最前"):
        survey.move_question(form, name="awareness", offset=-1)
    with pytest.raises(survey.FormError, match="没有题目"):
        survey.move_question(form, name="nothing", offset=1)


def test_questions_are_removed_unless_a_condition_or_a_rate_reads_them():
    form = _ui_form()
    with pytest.raises(survey.FormError, match="why"):
        survey.remove_question(form, name="awareness")
    form = survey.remove_question(form, name="why")
    with pytest.raises(survey.FormError, match="比率 awareness"):
        survey.remove_question(form, name="awareness")  # the awareness rate is computed from it
    form = survey.remove_question(form, name="age")
    assert _names(form) == ["awareness"] and "awareness" in form["choices"]


def test_the_shared_fixture_lists_stay_consistent():
    assert SURVEY[0][0] == "type" and CHOICES[0][0] == "list_name"
