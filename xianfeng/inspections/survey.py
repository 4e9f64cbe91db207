"""Questionnaire forms: XLSForm import (through pyxform), the form definition we store, and answer checking.

The stored definition (Questionnaire.form) is plain JSON the server and the phone page both read:

    {"title": …, "languages": ["zh", "en"], "default_language": "zh",
     "sections": [{"name": …, "label": {lang: text}, "relevant": tree|None, "questions": [question, …]}],
     "choices": {list name: [{"name": …, "label": {lang: text}, <filter columns>…}]}}
    question = {"name", "type", "label": {lang: text}, "hint": {…}, "required": bool, "relevant": tree|None,
                "relevant_src": text, "constraint": tree|None, "constraint_src": text,
                "constraint_message": {lang: text}, "list": list name|None, "choice_filter": tree|None}

Types: select_one, select_multiple, text, integer, decimal, date, note. Expressions are parsed once (expr.py).
A form's top-level groups become the sections of the phone page (one per screen); questions outside any group are
gathered into sections of their own, in order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from . import expr

TYPES = ("select_one", "select_multiple", "text", "integer", "decimal", "date", "note")
_PYXFORM_TYPES = {"select one": "select_one", "select all that apply": "select_multiple", "text": "text",
                  "integer": "integer", "decimal": "decimal", "date": "date", "note": "note"}
_LANG_CODE = re.compile(r"\(([A-Za-z\-]+)\)\s*$")
_KNOWN_LANGS = {"中文": "zh", "chinese": "zh", "english": "en", "英文": "en", "default": "default"}
RATE_KEYS = ("awareness", "satisfaction", "recognition")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class FormError(ValueError):
    """A form that cannot be imported or built; `messages` lists every problem, each naming its sheet and row."""

    def __init__(self, messages: list[str]):
        super().__init__("；".join(messages))
        self.messages = messages


def lang_code(name: str) -> str:
    """'中文 (zh)' → 'zh', 'English (en)' → 'en', 'default' → 'default'."""
    m = _LANG_CODE.search(name)
    if m:
        return m[1].lower()
    return _KNOWN_LANGS.get(name.strip().lower(), name.strip())


def _labels(value: Any, default: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {default: value}
    return {lang_code(k) if lang_code(k) != "default" else default: str(v) for k, v in value.items()}


def _sheet_rows(data: bytes, sheet: str) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    names = {n.lower(): n for n in workbook.sheet_names}
    if sheet not in names:
        return []
    return workbook.get_sheet_by_name(names[sheet]).to_python(skip_empty_area=False)


def _survey_rows(data: bytes) -> dict[str, int]:
    """name → the Excel row on the survey sheet (for error messages that name the row)."""
    rows = _sheet_rows(data, "survey")
    if not rows:
        return {}
    header = [str(h or "").strip().lower() for h in rows[0]]
    if "name" not in header:
        return {}
    col = header.index("name")
    return {str(r[col]).strip(): i + 1 for i, r in enumerate(rows) if i and len(r) > col and r[col]}


def import_xlsform(data: bytes, *, filename: str = "form.xlsx") -> dict[str, Any]:
    """Parse an XLSForm (.xlsx) into our definition. Raises FormError with pyxform's message (which names the
    row) or ours (sheet and row), and nothing is kept."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    from xianfeng.core.uploads import UploadRefused, check_upload

    if not filename.lower().endswith(".xlsx"):
        raise FormError(["只支持 .xlsx 格式的 XLSForm"])
    if len(data) > MAX_UPLOAD_BYTES:
        raise FormError(["文件过大（上限 5 MB）"])
    try:  # content, zip bombs, and each sheet's rows × columns, before pyxform or calamine parse anything
        check_upload(data, filename=filename, kinds=("xlsx",), max_bytes=MAX_UPLOAD_BYTES)
    except UploadRefused as exc:
        raise FormError([str(exc)]) from None
    try:
        result = convert(xlsform=io.BytesIO(data), file_type=".xlsx")
    except PyXFormError as exc:
        raise FormError([f"survey 表：{exc}"]) from None
    except Exception as exc:  # a damaged workbook fails inside the spreadsheet reader
        raise FormError([f"无法读取 XLSForm：{exc}"]) from None
    # pyxform's internal dict (ConvertResult._pyxform) keeps ${name} references unconverted, which is what our
    # expression parser reads; pyxform is pinned, and the import tests fail if its shape changes.
    tree = result._pyxform or {}
    rows = _survey_rows(data)
    form = _from_pyxform(tree, rows)
    form["rates"] = _rates_sheet(data, form)
    return form


def _from_pyxform(tree: Mapping[str, Any], rows: Mapping[str, int]) -> dict[str, Any]:
    default = lang_code(tree.get("default_language") or "default")
    errors: list[str] = []
    languages: list[str] = []

    def note_langs(labels: dict[str, str]) -> None:
        for lang in labels:
            if lang not in languages:
                languages.append(lang)

    def where(name: str) -> str:
        row = rows.get(name)
        return f"survey 表第{row}行（{name}）" if row else f"survey 表（{name}）"

    def parse_or_error(text: Any, name: str, column: str) -> list | None:
        try:
            return expr.parse(text or "")
        except expr.ExpressionError as exc:
            errors.append(f"{where(name)} {column} 列：{exc}")
            return None

    def question(node: Mapping[str, Any], group_relevant: list | None) -> dict[str, Any] | None:
        kind = _PYXFORM_TYPES.get(node.get("type", ""))
        name = node.get("name", "")
        if kind is None:
            errors.append(f"{where(name)}：不支持的题型 {node.get('type')}")
            return None
        bind = node.get("bind") or {}
        label = _labels(node.get("label"), default)
        note_langs(label)
        q = {
            "name": name, "type": kind, "label": label, "hint": _labels(node.get("hint"), default),
            "required": str(bind.get("required", "")).strip().lower() in ("yes", "true", "true()", "1"),
            "relevant_src": bind.get("relevant", ""), "relevant": parse_or_error(bind.get("relevant"), name, "relevant"),
            "constraint_src": bind.get("constraint", ""),
            "constraint": parse_or_error(bind.get("constraint"), name, "constraint"),
            "constraint_message": _labels(bind.get("jr:constraintMsg"), default),
            "list": node.get("list_name") or node.get("itemset") if kind.startswith("select") else None,
            "choice_filter_src": node.get("choice_filter", ""),
            "choice_filter": parse_or_error(node.get("choice_filter"), name, "choice_filter"),
        }
        if group_relevant is not None:
            q["section_relevant"] = group_relevant
        return q

    sections: list[dict[str, Any]] = []
    loose: dict[str, Any] | None = None
    for node in tree.get("children", []):
        ntype = node.get("type")
        if node.get("name") == "meta" or ntype in ("calculate", "start", "end", "deviceid", "today"):
            continue
        if ntype in ("group", "repeat"):
            if ntype == "repeat":
                errors.append(f"{where(node.get('name', ''))}：暂不支持重复组（repeat）")
                continue
            label = _labels(node.get("label"), default)
            note_langs(label)
            relevant = parse_or_error((node.get("bind") or {}).get("relevant"), node.get("name", ""), "relevant")
            section = {"name": node.get("name", ""), "label": label, "relevant": relevant, "questions": []}
            for child in _flatten(node.get("children", []), errors, where):
                q = question(child, relevant)
                if q:
                    section["questions"].append(q)
            sections.append(section)
            loose = None
            continue
        if loose is None:
            loose = {"name": f"section{len(sections) + 1}", "label": {}, "relevant": None, "questions": []}
            sections.append(loose)
        q = question(node, None)
        if q:
            loose["questions"].append(q)
    choices = {}
    for list_name, items in (tree.get("choices") or {}).items():
        out = []
        for item in items:
            entry = {k: v for k, v in item.items() if k not in ("label", "name", "media")}
            entry["name"] = str(item.get("name"))
            entry["label"] = _labels(item.get("label"), default)
            out.append(entry)
        choices[list_name] = out
    names = [q["name"] for s in sections for q in s["questions"]]
    for s in sections:
        for q in s["questions"]:
            for column in ("relevant", "constraint", "choice_filter"):
                for ref in sorted(expr.references(q.get(column))):
                    if ref not in names:
                        errors.append(f"{where(q['name'])} {column} 列：引用了不存在的题目 ${{{ref}}}")
    if errors:
        raise FormError(errors)
    if default not in languages and languages:
        default = languages[0]
    form = {"title": tree.get("title") or tree.get("id_string") or "", "languages": languages or [default],
            "default_language": default, "sections": [s for s in sections if s["questions"]], "choices": choices}
    return form


def _flatten(children: list, errors: list[str], where) -> list[dict[str, Any]]:
    """A group's questions; a nested group's questions join its parent's section."""
    out = []
    for child in children:
        if child.get("type") == "group":
            out.extend(_flatten(child.get("children", []), errors, where))
        elif child.get("type") == "repeat":
            errors.append(f"{where(child.get('name', ''))}：暂不支持重复组（repeat）")
        else:
            out.append(child)
    return out


def _rates_sheet(data: bytes, form: dict[str, Any]) -> dict[str, Any]:
    """An optional `rates` sheet: rate (awareness|satisfaction|recognition), question, positive (answer names,
    space-separated), weights ("1:100 2:75 3:55"). Without it, questions named like the rates are used."""
    rows = _sheet_rows(data, "rates")
    config: dict[str, Any] = {}
    questions = {q["name"]: q for s in form["sections"] for q in s["questions"]}
    if rows:
        header = [str(h or "").strip().lower() for h in rows[0]]
        errors: list[str] = []
        for i, row in enumerate(rows[1:], start=2):
            cells = {h: str(row[j]).strip() if j < len(row) and row[j] is not None else "" for j, h in enumerate(header)}
            if not any(cells.values()):
                continue
            try:
                config[cells.get("rate", "")] = rate_config(
                    form, rate=cells.get("rate", ""), question=cells.get("question", ""),
                    positive=cells.get("positive", "").split(), weights=cells.get("weights", ""))
            except FormError as exc:
                errors.extend(f"rates 表第{i}行：{m}" for m in exc.messages)
        if errors:
            raise FormError(errors)
        return config
    for key in RATE_KEYS:
        q = questions.get(key)
        if q and q["type"] == "select_one" and q["list"]:
            first = form["choices"].get(q["list"], [{}])[0].get("name")
            if first:
                config[key] = {"question": key, "positive": [first], "weights": {}}
    return config


def rate_config(form: Mapping[str, Any], *, rate: str, question: str, positive: list[str],
                weights: str | Mapping[str, float] = "") -> dict[str, Any]:
    """Check and build one rate's definition: which select_one question, which answers count, optional weights."""
    if rate not in RATE_KEYS:
        raise FormError([f"未知的比率：{rate}（可用 {', '.join(RATE_KEYS)}）"])
    q = next((q for s in form["sections"] for q in s["questions"] if q["name"] == question), None)
    if q is None or q["type"] != "select_one":
        raise FormError([f"题目 {question} 不存在或不是单选题"])
    names = [c["name"] for c in form["choices"].get(q["list"], [])]
    unknown = [p for p in positive if p not in names]
    if not positive or unknown:
        raise FormError([f"计入的答案须为题目 {question} 的选项（{' '.join(names)}）"])
    parsed: dict[str, float] = {}
    if isinstance(weights, str):
        for part in weights.split():
            key, _, value = part.partition(":")
            try:
                parsed[key] = float(value) / 100 if float(value) > 1 else float(value)
            except ValueError:
                raise FormError([f"权重格式应为 选项:分值，如 1:100 2:75 3:55（{part}）"]) from None
    else:
        parsed = {str(k): float(v) for k, v in weights.items()}
    if any(k not in names for k in parsed) or any(not 0 <= v <= 1 for v in parsed.values()):
        raise FormError(["权重须对应题目的选项，分值在0到100之间"])
    return {"question": question, "positive": list(positive), "weights": parsed}


# ---- answers ------------------------------------------------------------------------------------------------------


def questions(form: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [q for s in form["sections"] for q in s["questions"]]


def label(labels: Mapping[str, str], lang: str, default: str = "") -> str:
    return labels.get(lang) or labels.get(default) or next(iter(labels.values()), "")


def allowed_choices(form: Mapping[str, Any], q: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict]:
    items = form["choices"].get(q.get("list") or "", [])
    if q.get("choice_filter") is None:
        return items
    return [c for c in items if expr.truth(q["choice_filter"], answers=answers, row=c)]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def clean_answers(form: Mapping[str, Any], raw: Mapping[str, Any], *, lang: str = "zh",
                  today: dt.date | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check a response against the form: types, choices (after choice_filter), required, constraint; answers to
    questions that are not relevant are dropped. Returns (clean answers, {question: [errors]})."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    default = form.get("default_language", "zh")
    today_fn = (lambda: today) if today else dt.date.today
    known = {q["name"] for q in questions(form)}
    for name in raw:
        if name not in known:
            errors.setdefault(name, []).append("问卷中没有这道题")
    for q in questions(form):
        name = q["name"]
        if q["type"] == "note":
            continue
        relevant = all(expr.truth(t, answers=clean, today=today_fn)
                       for t in (q.get("section_relevant"), q.get("relevant")) if t is not None)
        if not relevant:
            continue
        value = raw.get(name)
        try:
            value = _coerce(form, q, value, clean)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
            continue
        if _empty(value):
            if q.get("required"):
                errors.setdefault(name, []).append("此题必答")
            continue
        if q.get("constraint") is not None and not expr.truth(q["constraint"], answers=clean, current=value,
                                                               today=today_fn):
            message = label(q.get("constraint_message") or {}, lang, default) or "答案不符合本题的限制条件"
            errors.setdefault(name, []).append(message)
            continue
        clean[name] = value
    return clean, errors


def _coerce(form: Mapping[str, Any], q: Mapping[str, Any], value: Any, answers: Mapping[str, Any]) -> Any:
    kind = q["type"]
    if _empty(value):
        return [] if kind == "select_multiple" else ""
    if kind == "text":
        text = str(value).strip()
        if len(text) > 2000:
            raise ValueError("回答过长（上限2000字）")
        return text
    if kind == "integer":
        try:
            if isinstance(value, bool):
                raise ValueError
            number = Decimal(str(value).strip())
            if number != number.to_integral_value() or abs(number) > 10**12:
                raise ValueError
            return int(number)
        except (InvalidOperation, ValueError):
            raise ValueError("请填写整数") from None
    if kind == "decimal":
        try:
            if isinstance(value, bool):
                raise ValueError
            decimal = float(Decimal(str(value).strip()))
            if decimal != decimal or abs(decimal) > 1e12:
                raise ValueError
            return decimal
        except (InvalidOperation, ValueError):
            raise ValueError("请填写数字") from None
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("请填写日期（年-月-日）") from None
    allowed = [c["name"] for c in allowed_choices(form, q, answers)]
    if kind == "select_one":
        if str(value) not in allowed:
            raise ValueError("请选择本题给出的选项")
        return str(value)
    if kind == "select_multiple":
        items = value if isinstance(value, list) else str(value).split()
        items = [str(v) for v in items]
        if any(v not in allowed for v in items) or len(set(items)) != len(items):
            raise ValueError("请选择本题给出的选项")
        return items
    raise ValueError(f"不支持的题型 {kind}")


# ---- forms built in the UI ----------------------------------------------------------------------------------------


def empty_form(title: str) -> dict[str, Any]:
    return {"title": title, "languages": ["zh", "en"], "default_language": "zh", "sections": [], "choices": {},
            "rates": {}}


def add_question(form: dict[str, Any], *, section: str, name: str, kind: str, label_zh: str, label_en: str = "",
                 required: bool = False, relevant: str = "", constraint: str = "", constraint_message: str = "",
                 choices: str = "") -> dict[str, Any]:
    """Append a question built in the UI (choices as lines "name=中文标签|English label"). Returns the new form;
    raises FormError."""
    errors: list[str] = []
    name = name.strip()
    if not re.match(r"^[A-Za-z_][\w\-]{0,59}$", name):
        errors.append("题目名称须以字母开头，只含字母、数字、下划线或横线")
    if name in {q["name"] for q in questions(form)}:
        errors.append(f"题目名称 {name} 已存在")
    if kind not in TYPES:
        errors.append(f"不支持的题型 {kind}")
    if not label_zh.strip():
        errors.append("题目（中文）不能为空")
    parsed = {}
    for column, text in (("relevant", relevant), ("constraint", constraint)):
        try:
            parsed[column] = expr.parse(text)
        except expr.ExpressionError as exc:
            errors.append(f"{column}：{exc}")
            continue
        missing = expr.references(parsed[column]) - {q["name"] for q in questions(form)}
        if missing:
            errors.append(f"{column}：引用了不存在的题目 {', '.join('${' + m + '}' for m in sorted(missing))}")
    items = []
    if kind in ("select_one", "select_multiple"):
        for line in choices.splitlines():
            if not line.strip():
                continue
            key, _, text = line.partition("=")
            zh, _, en = text.partition("|")
            if not key.strip() or not zh.strip():
                errors.append(f"选项格式应为 名称=中文|English：{line}")
                continue
            items.append({"name": key.strip(), "label": {"zh": zh.strip(), **({"en": en.strip()} if en.strip() else {})}})
        if not items:
            errors.append("选择题至少需要一个选项")
        if len({i["name"] for i in items}) != len(items):
            errors.append("选项名称重复")
    if errors:
        raise FormError(errors)
    form = _copy(form)
    target = next((s for s in form["sections"] if s["name"] == section.strip() or (not section.strip() and
                                                                                   s is form["sections"][-1])), None)
    if target is None:
        target = {"name": section.strip() or f"section{len(form['sections']) + 1}",
                  "label": {"zh": section.strip()} if section.strip() else {}, "relevant": None, "questions": []}
        form["sections"].append(target)
    list_name = None
    if items:
        list_name = name
        form["choices"][list_name] = items
    label_map = {"zh": label_zh.strip(), **({"en": label_en.strip()} if label_en.strip() else {})}
    target["questions"].append({
        "name": name, "type": kind, "label": label_map, "hint": {}, "required": required,
        "relevant_src": relevant, "relevant": parsed.get("relevant"), "constraint_src": constraint,
        "constraint": parsed.get("constraint"),
        "constraint_message": {"zh": constraint_message.strip()} if constraint_message.strip() else {},
        "list": list_name, "choice_filter_src": "", "choice_filter": None,
    })
    if name in RATE_KEYS and kind == "select_one" and name not in form.get("rates", {}):
        form["rates"] = {**form.get("rates", {}), name: {"question": name, "positive": [items[0]["name"]],
                                                         "weights": {}}}
    return form


def _dependencies(q: Mapping[str, Any]) -> set[str]:
    """The questions whose answers `q`'s relevant, constraint and choice_filter read."""
    found: set[str] = set()
    for column in ("relevant", "constraint", "choice_filter"):
        if q.get(column) is not None:
            found |= expr.references(q[column])
    return found - {q["name"]}


def _copy(form: Mapping[str, Any]) -> dict[str, Any]:
    return {**form, "sections": [dict(s, questions=list(s["questions"])) for s in form["sections"]],
            "choices": dict(form["choices"])}


def move_question(form: Mapping[str, Any], *, name: str, offset: int) -> dict[str, Any]:
    """Move question `name` up (offset −1) or down (+1) within its section. A question may not come before one whose
    answer it reads (skip logic runs in order), nor after one that reads it. Returns the new form; raises FormError."""
    if offset not in (-1, 1):
        raise FormError(["只能上移或下移一位"])
    form = _copy(form)
    for section in form["sections"]:
        names = [q["name"] for q in section["questions"]]
        if name not in names:
            continue
        i = names.index(name)
        j = i + offset
        if not 0 <= j < len(names):
            raise FormError([f"题目 {name} 已在本节{'最前' if offset < 0 else '最后'}"])
        first, second = sorted((i, j))
        earlier, later = section["questions"][first], section["questions"][second]
        if earlier["name"] in _dependencies(later):
            raise FormError([f"题目 {later['name']} 的条件引用了 {earlier['name']}，不能排在它前面"])
        section["questions"][i], section["questions"][j] = section["questions"][j], section["questions"][i]
        return form
    raise FormError([f"没有题目 {name}"])


def remove_question(form: Mapping[str, Any], *, name: str) -> dict[str, Any]:
    """Remove question `name` (and its choice list when no other question uses it). Refused while another question's
    condition or a rate reads it. Returns the new form; raises FormError."""
    form = _copy(form)
    target = next((q for q in questions(form) if q["name"] == name), None)
    if target is None:
        raise FormError([f"没有题目 {name}"])
    readers = sorted(q["name"] for q in questions(form) if name in _dependencies(q))
    if readers:
        raise FormError([f"题目 {', '.join(readers)} 的条件引用了 {name}，请先修改它们"])
    rates = sorted(key for key, rc in form.get("rates", {}).items() if rc.get("question") == name)
    if rates:
        raise FormError([f"比率 {', '.join(rates)} 以 {name} 计算，请先修改比率"])
    for section in form["sections"]:
        section["questions"] = [q for q in section["questions"] if q["name"] != name]
    form["sections"] = [s for s in form["sections"] if s["questions"]]
    list_name = target.get("list")
    if list_name and not any(q.get("list") == list_name for q in questions(form)):
        form["choices"].pop(list_name, None)
    return form
