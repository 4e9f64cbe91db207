"""The inspection report as a 公文 (GB/T 9704-2012): drafted from the data, editable, exported as .docx, PDF, HTML.

Structure of the seed report: a title, the group's name, an introduction with the counts of what was done, then
一、基本做法, 二、主要特点和成效, 三、意见和建议. Every figure comes from the database; each prose section is a draft
until the inspector edits it (Inspection.report_sections keeps the edited text).

Layout (.docx): A4; margins top 37 mm, bottom 35 mm, left (binding) 28 mm, right 26 mm; body 3号 (16 pt) 仿宋 with
仿宋_GB2312 as the East-Asian font; title 2号 (22 pt) 方正小标宋简体; 22 lines through the document grid
(w:docGrid type "lines", line pitch 579 twips) × 28 characters through a character pitch of 15.75 pt (body runs
carry w:spacing −0.25 pt; Word's "linesAndChars" grid would do the same in Word, but LibreOffice then gives every
16-pt character two 15.8-pt cells and sets 14 characters a line); page numbers 4号 (14 pt) "— 1 —", odd pages right,
even pages left. The named fonts are what Word users in government offices have; PDFs are set in FandolFang
(texlive-lang-chinese) or, failing that, any CJK font fontconfig knows, embedded as a subset.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Count, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from xianfeng.core.rates import org_rates
from xianfeng.orgs.models import ContactPoint, GuidanceGroup, OrgKind

from . import analysis, charts, stats
from .draw import STRATUM_UNITS
from .models import DrawUnit, Finding, Inspection, Interview, RecordReview, Response, Seminar, SpotCheck

# GB/T 9704-2012 geometry.
PAGE_W_MM, PAGE_H_MM = 210, 297
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
BODY_PT, TITLE_PT, PAGE_NUMBER_PT = 16, 22, 14
LINES, CHARS = 22, 28
LINE_PITCH_TWIPS = 579  # 225 mm / 22 lines ≈ 28.95 pt
TEXT_WIDTH_PT = (PAGE_W_MM - MARGINS_MM["left"] - MARGINS_MM["right"]) / 25.4 * 72
# 28 characters must fit in 156 mm: each body character is narrowed by whole twentieths of a point (rounded down).
CHAR_SPACING_TWIPS = math.floor((TEXT_WIDTH_PT / CHARS - BODY_PT) * 20)
FONT_BODY, FONT_TITLE, FONT_HEADING, FONT_KAI = "仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"
PDF_FONTS = (
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolFang-Regular.otf",
    "/usr/share/fonts/opentype/fandol/FandolFang-Regular.otf",
)
PDF_TITLE_FONTS = (
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolSong-Bold.otf",
    "/usr/share/fonts/opentype/fandol/FandolSong-Bold.otf",
)
PDF_HEADING_FONTS = (
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolHei-Regular.otf",
    "/usr/share/fonts/opentype/fandol/FandolHei-Regular.otf",
)
SECTION_HEADINGS = {"practices": "一、基本做法", "achievements": "二、主要特点和成效", "problems": "三、意见和建议"}
NUMERALS = "一二三四五六七八九十"


@dataclass
class Report:
    title: str
    author: str
    sections: dict[str, str]  # key → text (edited, or the draft)
    drafts: dict[str, str]
    rates: list[dict[str, Any]]
    funnels: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def paragraphs(self, key: str) -> list[str]:
        return [p.strip() for p in self.sections.get(key, "").split("\n") if p.strip()]


def count_text(n: int) -> str:
    """How the report writes a head count: 172 → "170余名", 40 → "40名"."""
    if n >= 20 and n % 10:
        return f"{n // 10 * 10}余名"
    return f"{n}名"


def short_name(name: str) -> str:
    """县卫生局 → 卫生局, 县委政法委 → 政法委 (the report's way of naming county departments)."""
    for prefix in ("县委", "县"):
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            return name[len(prefix):]
    return name


def as_of_text(day: dt.date | None = None) -> str:
    """"截至2026年12月7日": the registered indicators count everything up to the day the draft is made."""
    day = day or timezone.localdate()
    return f"截至{day.year}年{day.month}月{day.day}日"


def _date_range(start: dt.date, end: dt.date) -> str:
    if start.month == end.month:
        return f"{start.month}月{start.day}日至{end.day}日"
    return f"{start.month}月{start.day}日至{end.month}月{end.day}日"


def _ci(r: dict[str, Any]) -> str:
    return f"{analysis.pct(r['ci_low'])}%–{analysis.pct(r['ci_high'])}%"


def figures(inspection: Inspection) -> dict[str, Any]:
    """Every count the report states, from the records."""
    spot = list(SpotCheck.objects.filter(inspection=inspection).select_related("org").order_by("date", "id"))
    drawn = list(DrawUnit.objects.filter(draw__inspection=inspection, draw__status="published")
                 .values("stratum").annotate(n=Count("id")))
    seminars = Seminar.objects.filter(inspection=inspection).aggregate(n=Count("id"), members=Sum("members"),
                                                                       residents=Sum("residents"))
    reached = Interview.objects.filter(inspection=inspection).count()
    collected = Response.objects.filter(inspection=inspection).count()
    reviews = list(RecordReview.objects.filter(inspection=inspection).values_list("checklist", flat=True))
    return {
        "group_size": inspection.group.count(),
        "spot_departments": [short_name(s.org.name) for s in spot if s.org.kind not in (OrgKind.TOWN, OrgKind.STREET)],
        "spot_towns": [s.org.name for s in spot if s.org.kind in (OrgKind.TOWN, OrgKind.STREET)],
        "seminars": seminars["n"] or 0,
        "seminar_people": (seminars["members"] or 0) + (seminars["residents"] or 0),
        "drawn": {row["stratum"]: row["n"] for row in drawn},
        "reached": reached,
        "methods": sorted(set(Interview.objects.filter(inspection=inspection).values_list("method", flat=True))),
        "issued": inspection.questionnaires_issued,
        "collected": collected,
        "records_reviewed": len(reviews),
        "records_complete": sum(1 for c in reviews if c and all(c.values())),
    }


def draft_intro(inspection: Inspection, f: dict[str, Any], rates: list[dict[str, Any]]) -> str:
    county = inspection.org
    where = {"county": "该县", "town": "该镇", "street": "该街道"}.get(county.kind, "该单位")
    parts = [f"根据{inspection.authority}的统一部署，" if inspection.authority else "",
             f"{_date_range(inspection.start, inspection.end)}，我组一行{f['group_size']}人赴{county.name}，"
             f"对{where}开展{inspection.campaign}的情况进行了现场点评。"]
    done = []
    if "hear_report" in inspection.agenda and inspection.reported_by:
        done.append(f"听取了{inspection.reported_by}的工作汇报")
    if "review_records" in inspection.agenda:
        done.append("查阅了有关台账资料")
    if f["spot_departments"] or f["spot_towns"]:
        names = "、".join(f["spot_departments"])
        if f["spot_towns"]:
            names = f"{names}和{'、'.join(f['spot_towns'])}" if names else "、".join(f["spot_towns"])
        done.append(f"实地抽查了{names}等部门和单位")
    if f["seminars"]:
        done.append(f"召开了{f['seminars']}个党员群众座谈会")
    drawn = f["drawn"]
    if drawn:
        order = ["village_community", "enterprise", "social", "hospital", "school", "department", "town"]
        done.append("随机检查了" + "、".join(f"{drawn[k]}{STRATUM_UNITS[k]}" for k in order if drawn.get(k)))
    if f["reached"]:
        ways = [w for k, w in (("door_to_door", "入户调查"), ("street", "街头随访"), ("seminar", "座谈"))
                if k in f["methods"]]
        done.append(f"通过{'、'.join(ways)}等方式走访党员群众{count_text(f['reached'])}")
    if f["collected"]:
        if f["issued"] and f["issued"] == f["collected"]:
            done.append(f"发放并收回调查问卷{f['collected']}份")
        elif f["issued"]:
            done.append(f"发放调查问卷{f['issued']}份，收回{f['collected']}份"
                        f"（回收率{stats.format_percent(f['collected'] / f['issued'])}）")
        else:
            done.append(f"收回调查问卷{f['collected']}份")
    if done:
        parts.append("期间，我们" + "，".join(done) + "。")
    aware, satisfied = analysis.rate_by_name(rates, "awareness"), analysis.rate_by_name(rates, "satisfaction")
    if aware and satisfied:
        parts.append(f"从现场点评情况看，群众知晓率和满意度分别达到了{stats.format_percent(aware['estimate'])}和"
                     f"{stats.format_percent(satisfied['estimate'])}（95%置信区间分别为{_ci(aware)}和{_ci(satisfied)}，"
                     + (f"有效样本均为{aware['n']}份）。" if aware["n"] == satisfied["n"]
                      else f"有效样本分别为{aware['n']}份和{satisfied['n']}份）。"))
    elif aware:
        parts.append(f"从现场点评情况看，群众知晓率达到了{stats.format_percent(aware['estimate'])}"
                     f"（95%置信区间{_ci(aware)}，n={aware['n']}）。")
    return "".join(parts)


def draft_practices(inspection: Inspection, f: dict[str, Any]) -> str:
    root = inspection.org
    lines = []
    cps = dict(ContactPoint.objects.filter(org__path__startswith=root.path, end__isnull=True)
               .values_list("kind").annotate(n=Count("id")))
    if cps:
        labels = [("department", "个部门"), ("town", "个镇"), ("village", "个村"), ("enterprise", "家非公企业"),
                  ("subordinate", "个下属单位")]
        listed = "、".join(f"{cps[k]}{u}" for k, u in labels if cps.get(k))
        lines.append(f"1、因地制宜，分类指导。县级领导干部率先垂范，确定{listed}为联系点，深入开展督促指导。")
    groups = GuidanceGroup.objects.filter(org__path__startswith=root.path).count()
    if groups:
        lines.append(f"{len(lines) + 1}、层层联动，扎实推进。分系统组建{groups}个指导组，指导基层单位扎实推进{inspection.campaign}。")
    plans = org_rates().get("campaigns.plans_submitted")
    if plans is not None:
        total = plans.compute([root]).get(root.pk)  # the registered indicator, as the cockpit counts it
        if total and total[1]:
            lines.append(f"{len(lines) + 1}、周密部署。{total[1]}个应报送活动方案的组织中{total[0]}个已报送"
                         f"（{stats.format_percent(total[0] / total[1])}，{as_of_text()}全部组织口径）。")
    if f["records_reviewed"]:
        lines.append(f"{len(lines) + 1}、台账资料。查阅了{f['records_reviewed']}个单位的台账资料，其中"
                     f"{f['records_complete']}个单位台账齐全。")
    return "\n".join(lines)


def draft_achievements(inspection: Inspection, rates: list[dict[str, Any]]) -> str:
    root = inspection.org
    lines = []
    for key, rate in org_rates().items():
        if key in ("pledges.formulaic", "campaigns.plans_submitted"):
            continue
        total = rate.compute([root]).get(root.pk)  # the registered indicator, as the cockpit counts it
        if total and total[1]:
            lines.append(f"{rate.label}{stats.format_percent(total[0] / total[1])}"
                         f"（{rate.numerator}{total[0]:,}，{rate.denominator}{total[1]:,}）")
    text = []
    if lines:
        text.append(f"1、主要工作指标（{as_of_text()}，{root.name}全部组织，口径同驾驶舱）：" + "；".join(lines) + "。")
    survey_lines = [f"{r['label']}{stats.format_percent(r['estimate'])}（{r['x']:g}/{r['n']}，95%置信区间{_ci(r)}）"
                    for r in rates if r["n"]]
    if survey_lines:
        text.append(f"{len(text) + 1}、群众评价：" + "；".join(survey_lines) + "。")
        notes = sorted({w for r in rates for w in r["warnings"]})
        if notes:
            text.append("说明：" + "".join(notes))
    return "\n".join(text)


def draft_problems(inspection: Inspection, findings: list[Finding]) -> str:
    if not findings:
        return ""
    where = {"county": "该县", "town": "该镇"}.get(inspection.org.kind, "")
    lines = [f"虽然{where or inspection.org.name}的{inspection.campaign}已取得了阶段性成效，但是我们在检查和走访中也发现了一些不足："
             + "，".join(f.title for f in findings) + "。"]
    for i, finding in enumerate(findings):
        lines.append(f"（{NUMERALS[i] if i < 10 else i + 1}）{finding.title}。{finding.text}")
    return "\n".join(lines)


def draft_recommendations(findings: list[Finding]) -> str:
    recs: list[str] = []
    for f in findings:
        if f.recommendation and f.recommendation not in recs:
            recs.append(f.recommendation)
    lasting = analysis.RECOMMENDATIONS["lasting"]
    if lasting not in recs:
        recs.append(lasting)
    canonical = list(analysis.RECOMMENDATIONS.values())  # the seed's order: targeted, interactive, lasting
    recs.sort(key=lambda text: canonical.index(text) if text in canonical else len(canonical) - 0.5)
    return "我们建议：\n" + "\n".join(f"{i}、{text}" for i, text in enumerate(recs, start=1))


def build(inspection: Inspection, *, with_funnels: bool = True) -> Report:
    rates = analysis.survey_rates(inspection)
    f = figures(inspection)
    findings = list(Finding.objects.filter(inspection=inspection, status=Finding.Status.ACCEPTED).order_by("position", "id"))
    drafts = {
        "intro": draft_intro(inspection, f, rates),
        "practices": draft_practices(inspection, f),
        "achievements": draft_achievements(inspection, rates),
        "problems": draft_problems(inspection, findings),
        "recommendations": draft_recommendations(findings),
    }
    edited = inspection.report_sections or {}
    sections = {k: edited.get(k) or v for k, v in drafts.items()}
    funnels = analysis.org_funnels(inspection) if with_funnels else []
    return Report(title=f"{inspection.org.name}{inspection.campaign}现场点评工作情况汇报", author=inspection.group_name,
                  sections=sections, drafts=drafts, rates=rates, funnels=funnels, figures=f)


def rate_rows(report: Report) -> list[list[str]]:
    rows = [["指标", "计入的回答", "x / n", "比率", "95%置信区间", "区间方法", "问卷回收率"]]
    for r in report.rates:
        if not r["n"]:
            continue
        counted = "、".join(d["label"] for d in r["distribution"] if d["counted"])
        if r["weighted"]:
            counted = "加权：" + "、".join(f"{d['label']}{(d['weight'] or 0) * 100:g}" for d in r["distribution"]
                                          if d["weight"] is not None)
        rows.append([r["label"], counted, f"{r['x']:g} / {r['n']}", stats.format_percent(r["estimate"]), _ci(r),
                     {"wilson": "Wilson", "clopper_pearson": "Clopper–Pearson"}.get(r["method"], r["method"]),
                     stats.format_percent(r["response_rate"]) if r["response_rate"] is not None else "—"])
    return rows


# ---- .docx --------------------------------------------------------------------------------------------------------


def _set_fonts(run_or_style_font_element, *, east_asia: str, latin: str = "Times New Roman") -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = run_or_style_font_element
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def _run(paragraph, text: str, *, font: str = FONT_BODY, size: float = BODY_PT, bold: bool = False):
    from docx.shared import Pt

    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    _set_fonts(rpr, east_asia=font)
    if size == BODY_PT:
        _narrow(rpr)
    return run


def _narrow(rpr) -> None:
    """Character spacing for the 28-character line; w:spacing precedes w:sz in CT_RPr's sequence."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(CHAR_SPACING_TWIPS))
    size = rpr.find(qn("w:sz"))
    if size is not None:
        size.addprevious(spacing)
    else:
        rpr.append(spacing)


def _page_number_footer(footer, align) -> None:
    """"— N —" in 4号 宋体, with a PAGE field."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = footer.paragraphs[0]
    p.alignment = align
    p.paragraph_format.left_indent = None
    _run(p, "— ", font="宋体", size=PAGE_NUMBER_PT)
    run = _run(p, "", font="宋体", size=PAGE_NUMBER_PT)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._element.append(el)
    _run(p, " —", font="宋体", size=PAGE_NUMBER_PT)


def render_docx(report: Report) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W_MM), Mm(PAGE_H_MM)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance, section.footer_distance = Mm(15), Mm(28)  # page numbers ~7 mm below the text block
    sect_pr = section._sectPr
    for old in sect_pr.findall(qn("w:docGrid")):
        sect_pr.remove(old)
    grid = OxmlElement("w:docGrid")
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    sect_pr.append(grid)

    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    _set_fonts(normal.element.get_or_add_rPr(), east_asia=FONT_BODY)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(LINE_PITCH_TWIPS / 20)
    pf.space_before = pf.space_after = Pt(0)

    doc.settings.odd_and_even_pages_header_footer = True
    _page_number_footer(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number_footer(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)
    for footer in (section.footer, section.even_page_footer):
        fp = footer.paragraphs[0].paragraph_format
        if footer is section.footer:
            fp.right_indent = Pt(PAGE_NUMBER_PT)  # 单页码居右空一字
        else:
            fp.left_indent = Pt(PAGE_NUMBER_PT)  # 双页码居左空一字

    def para(text: str, *, indent: bool = True, font: str = FONT_BODY, size: float = BODY_PT,
             align=None, bold: bool = False):
        p = doc.add_paragraph()
        if indent:
            p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
        if align is not None:
            p.alignment = align
        _run(p, text, font=font, size=size, bold=bold)
        return p

    title = para(report.title, indent=False, font=FONT_TITLE, size=TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.line_spacing = Pt(TITLE_PT * 1.5)
    para("", indent=False)
    para(report.author, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, font=FONT_KAI)
    para("", indent=False)
    for text in report.paragraphs("intro"):
        para(text)
    for key, heading in SECTION_HEADINGS.items():
        para(heading, font=FONT_HEADING)
        body = report.paragraphs(key) + (report.paragraphs("recommendations") if key == "problems" else [])
        for text in body:
            para(text)
        if key == "achievements":
            rows = rate_rows(report)
            if len(rows) > 1:
                table = doc.add_table(rows=len(rows), cols=len(rows[0]))
                table.style = "Table Grid"
                table.alignment = WD_TABLE_ALIGNMENT.CENTER
                for i, row in enumerate(rows):
                    for j, value in enumerate(row):
                        cell = table.cell(i, j)
                        cell.paragraphs[0].paragraph_format.line_spacing = Pt(14)
                        _run(cell.paragraphs[0], value, size=10.5, bold=i == 0)
                cap = para("表1  问卷比率及95%置信区间（Wilson 区间；比率均附样本量）", indent=False, size=12,
                           align=WD_ALIGN_PARAGRAPH.CENTER)
                cap.paragraph_format.line_spacing = Pt(20)
        if key == "problems":
            for i, fn in enumerate(report.funnels, start=1):
                png = charts.funnel_png(fn["funnel"], title=fn["label"])
                doc.add_picture(io.BytesIO(png), width=Mm(150))
                doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                doc.paragraphs[-1].paragraph_format.line_spacing = None
                doc.paragraphs[-1].paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
                cap = para(f"图{i}  {fn['label']}漏斗图（目标{stats.format_percent(fn['funnel'].target)}，精确二项"
                           f"95%与99.8%控制限）", indent=False, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)
                cap.paragraph_format.line_spacing = Pt(20)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# ---- HTML and PDF -------------------------------------------------------------------------------------------------


def _first(paths: tuple[str, ...]) -> str | None:
    return next((p for p in paths if Path(p).exists()), None)


def render_html(report: Report, *, for_pdf: bool = False) -> str:
    context = {
        "report": report,
        "intro": report.paragraphs("intro"),
        "sections": [(heading, report.paragraphs(key) + (report.paragraphs("recommendations") if key == "problems"
                                                         else []), key) for key, heading in SECTION_HEADINGS.items()],
        "rate_rows": rate_rows(report),
        "funnels": [{"label": f["label"], "target": stats.format_percent(f["funnel"].target),
                     "svg": charts.funnel_svg(f["funnel"], title=f["label"], names=f["names"])} for f in report.funnels],
        "margins": MARGINS_MM, "body_pt": BODY_PT, "title_pt": TITLE_PT, "page_number_pt": PAGE_NUMBER_PT,
        "line_pt": LINE_PITCH_TWIPS / 20,
        "letter_spacing_pt": round(TEXT_WIDTH_PT / CHARS - BODY_PT, 3),
        "for_pdf": for_pdf,
        "body_font": _first(PDF_FONTS) if for_pdf else None,
        "title_font": _first(PDF_TITLE_FONTS) if for_pdf else None,
        "heading_font": _first(PDF_HEADING_FONTS) if for_pdf else None,
    }
    return render_to_string("inspections/report_document.html", context)


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    html = render_html(report, for_pdf=True)
    return HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()


def render(report: Report, fmt: str) -> tuple[bytes, str]:
    """(content, content type) for fmt in docx, pdf, html."""
    if fmt == "docx":
        return render_docx(report), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if fmt == "pdf":
        return render_pdf(report), "application/pdf"
    if fmt == "html":
        return render_html(report).encode("utf-8"), "text/html; charset=utf-8"
    raise ValueError(f"unknown format {fmt!r}")

