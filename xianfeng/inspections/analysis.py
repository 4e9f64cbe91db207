"""Reads behind the figures: survey rates with their intervals, per-organisation funnels, findings drafted from data.

Nothing here writes; services.findings_draft stores what draft_findings proposes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Q
from django.utils import timezone

from xianfeng.core.rates import org_rates
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Organisation, OrgKind

from . import stats, survey
from .draw import STRATUM_LABELS
from .models import DrawUnit, Inspection, Questionnaire, Rectification, Response

RATE_LABELS = {"awareness": "知晓率", "satisfaction": "满意度", "recognition": "认同感"}
RATE_ORDER = ("awareness", "satisfaction", "recognition")
SMALL_STRATUM = 30  # below this many answers a stratum's rate is shown with a warning
# The units a funnel plot compares: grassroots units (towns and the county are sums of these).
FUNNEL_KINDS = (OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.DEPARTMENT, OrgKind.ENTERPRISE, OrgKind.SOCIAL,
                OrgKind.HOSPITAL, OrgKind.SCHOOL)


def pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}"


def survey_rates(inspection: Inspection) -> list[dict[str, Any]]:
    """Every configured rate of the inspection's questionnaires: n, x, estimate, interval, response rate, the full
    answer distribution, per-stratum and per-respondent-type tables, the stratified estimate when population weights
    are set, and warnings where n is too small for what a reader might conclude."""
    out: list[dict[str, Any]] = []
    method = inspection.interval_method
    for questionnaire in Questionnaire.objects.filter(inspection=inspection).order_by("id"):
        config = questionnaire.form.get("rates") or {}
        if not config:
            continue
        rows = list(Response.objects.filter(questionnaire=questionnaire)
                    .values_list("answers", "stratum", "respondent_type"))
        collected = len(rows)
        for key in RATE_ORDER:
            if key not in config:
                continue
            out.append(_one_rate(inspection, questionnaire, key, config[key], rows, collected, method))
    _pair_warnings(out)
    return out


def _score(answer: str, rc: dict, weighted: bool) -> float:
    if weighted:
        return float(rc["weights"].get(answer, 0.0))
    return 1.0 if answer in rc["positive"] else 0.0


def _one_rate(inspection: Inspection, questionnaire: Questionnaire, key: str, rc: dict, rows: list, collected: int,
              method: str) -> dict[str, Any]:
    form = questionnaire.form
    question = next(q for q in survey.questions(form) if q["name"] == rc["question"])
    choices = form["choices"].get(question["list"], [])
    weighted = key == "satisfaction" and inspection.satisfaction_mode == Inspection.SatisfactionMode.WEIGHTED \
        and bool(rc.get("weights"))
    answers = [(a.get(rc["question"]), stratum, rtype) for a, stratum, rtype in rows]
    answered = [(v, s, t) for v, s, t in answers if v not in (None, "")]
    n = len(answered)
    x = sum(_score(v, rc, weighted) for v, _, _ in answered)
    if not weighted:
        x = int(x)
    est = stats.estimate(x, n, method) if n else None
    counts = Counter(v for v, _, _ in answered)
    default = form.get("default_language", "zh")
    distribution = [{"answer": c["name"], "label": survey.label(c["label"], "zh", default), "count": counts.get(c["name"], 0),
                     "counted": c["name"] in rc["positive"], "weight": rc.get("weights", {}).get(c["name"])}
                    for c in choices]
    distribution.append({"answer": "", "label": "未作答", "count": collected - n, "counted": False, "weight": None})
    warnings: list[str] = []

    def table(index: int) -> list[dict[str, Any]]:
        groups: dict[str, list] = defaultdict(list)
        for item in answered:
            groups[item[index] or ""].append(item[0])
        result = []
        for group, values in sorted(groups.items()):
            gx = sum(_score(v, rc, weighted) for v in values)
            low, high = stats.interval(gx if weighted else int(gx), len(values), method)
            result.append({"group": group, "label": _group_label(group), "x": gx if weighted else int(gx),
                           "n": len(values), "estimate": gx / len(values), "ci_low": low, "ci_high": high,
                           "small": len(values) < SMALL_STRATUM})
        return result

    strata = table(1)
    by_type = table(2)
    small = [s["label"] for s in strata + by_type if s["small"] and len(strata) > 1]
    if small:
        warnings.append(f"{'、'.join(sorted(set(small)))}的回答不足{SMALL_STRATUM}份，分组比率只作参考，不宜据此比较高低。")
    stratified = None
    population = {k: v for k, v in (inspection.strata_population or {}).items() if v}
    if population and n:
        counts_by = {s["group"]: (s["x"], s["n"]) for s in strata}
        try:
            st = stats.stratified(counts_by, population)
            stratified = {"estimate": st.estimate, "ci_low": st.ci_low, "ci_high": st.ci_high,
                          "effective_n": st.effective_n, "method": st.method,
                          "strata": [dict(r, label=_group_label(r["stratum"])) for r in st.strata]}
        except ValueError as exc:
            warnings.append(f"无法加权：{exc}")
    issued = inspection.questionnaires_issued
    return {
        "name": key, "label": RATE_LABELS[key], "questionnaire": questionnaire.pk, "question": rc["question"],
        "question_label": survey.label(question["label"], "zh", default),
        "x": x, "n": n, "estimate": est.estimate if est else None, "ci_low": est.ci_low if est else None,
        "ci_high": est.ci_high if est else None,
        "method": ("wilson (weighted score)" if weighted and method == "wilson" else method),
        "weighted": weighted, "collected": collected, "issued": issued,
        "response_rate": (collected / issued) if issued else None,
        "item_response_rate": (n / collected) if collected else None,
        "distribution": distribution, "strata": strata, "by_respondent_type": by_type, "stratified": stratified,
        "warnings": warnings,
    }


def _group_label(group: str) -> str:
    return {"member": "党员", "resident": "群众", "": "未分层"}.get(group) or STRATUM_LABELS.get(group, group)


def _pair_warnings(rates: list[dict[str, Any]]) -> None:
    """When two rates' difference is within what n can resolve, say so, with the sample sizes a real comparison
    would need at the observed rates: the n at which the difference's 95 % interval (Newcombe) leaves 0, and the n
    of the two-sided two-proportion test at α = 0.05 with 80 % power (normal approximation, pooled variance)."""
    done = [r for r in rates if r["n"]]
    for i, a in enumerate(done):
        for b in done[i + 1:]:
            d, low, high = stats.newcombe_difference(a["x"], a["n"], b["x"], b["n"])
            if low <= 0 <= high and abs(d) > 0:
                text = (f"{a['label']}{stats.format_percent(a['estimate'])}与{b['label']}"
                        f"{stats.format_percent(b['estimate'])}相差{abs(d) * 100:.1f}个百分点，在抽样误差之内"
                        f"（差值95%区间{pct(low)}至{pct(high)}个百分点）：n={a['n']}不能区分两者。"
                        + sample_size_text(a["estimate"], b["estimate"]))
                a["warnings"].append(text)
                b["warnings"].append(text)


def sample_size_text(p1: float, p2: float) -> str:
    """The sentence giving both sample sizes for telling p1 from p2, each named by what it is."""
    ci_n = stats.n_difference_excludes_zero(p1, p2)
    test_n = stats.n_two_proportions(p1, p2, alpha=0.05, power=0.8)
    parts = []
    if ci_n:
        parts.append(f"按当前比率，每项约需{ci_n:,}份，差值的95%区间（Newcombe）才不含0")
    if test_n:
        parts.append(f"要以80%的把握检出这一差距（两样本比例检验，双侧α=0.05，正态近似、合并方差），每项约需{test_n:,}份")
    return "；".join(parts) + "。" if parts else ""


def rate_by_name(rates: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((r for r in rates if r["name"] == name and r["n"]), None)


# ---- funnels ------------------------------------------------------------------------------------------------------


def funnel_units(inspection: Inspection) -> list[Organisation]:
    return list(Organisation.objects.descendants_of(inspection.org, include_self=False)
                .filter(kind__in=FUNNEL_KINDS, is_active=True).only("id", "name", "code", "path", "kind")
                .order_by("path"))


def org_funnels(inspection: Inspection, *, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """One funnel per registered per-organisation rate over the inspection's grassroots units (the rate's source
    module decides x and n; the target is the subtree's pooled rate)."""
    units = funnel_units(inspection)
    names = {u.pk: u.name for u in units}
    out = []
    for key, rate in org_rates().items():
        if keys is not None and key not in keys:
            continue
        values = rate.compute(units)  # the registered indicator's own window, as the cockpit counts it
        f = stats.funnel(values)
        if not f.points:
            continue
        out.append({"key": key, "label": rate.label, "numerator": rate.numerator, "denominator": rate.denominator,
                    "funnel": f, "names": names,
                    "below998": [(names.get(p.org_id, p.org_id), p) for p in f.below("998")],
                    "below95": [(names.get(p.org_id, p.org_id), p) for p in f.below("95") if not p.below998]})
    return out


# ---- findings -----------------------------------------------------------------------------------------------------

RECOMMENDATIONS = {
    "targeted": ("要更加注重活动的针对性和实效性。突出地方特色、单位特色、行业特色和党员个性，强化分类领导和指导。"
                 "对于整改未落实事项和活动中发现的新情况、新问题，要进一步梳理、分解、落实，切实增强活动实效。"),
    "interactive": ("要更加注重活动的互动性和广泛性。把群众满意作为检验活动成效的重要标准，进一步引领和带动群众广泛参与，"
                    "使活动成果真正惠及广大群众。"),
    "lasting": ("要更加注重活动的长期性和长效性。引导各级党组织和广大党员把活动贯穿到中心工作中，"
                "对于活动中的好做法，要认真总结，并以制度的形式固定下来，努力形成长效机制。"),
}


def draft_findings(inspection: Inspection, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Findings proposed from the data, each with its evidence; the inspector edits, accepts or drops them."""
    from django.urls import reverse

    today = today or timezone.localdate()
    drafts: list[dict[str, Any]] = []
    rates_url = reverse("inspections:rates", args=[inspection.pk])
    # (a) uneven progress: organisations below the funnel's lower limit on any registered rate.
    parts, evidence = [], []
    for f in org_funnels(inspection):
        if not f["below998"] and not f["below95"]:
            continue
        fn = f["funnel"]
        # pooled over the funnel's units (villages, communities, departments, enterprises …), not the whole tree:
        # the population is said, since the whole county's figure (主要工作指标) also counts the towns' and the
        # county's own organisations
        text = (f"{f['label']}（{len(fn.points)}个基层单位合计{stats.format_percent(fn.target)}，"
                f"{fn.x}/{fn.n}；仅计村、社区、机关部门、企业等基层单位，不含县、镇本级）：")
        if f["below998"]:
            text += (f"{len(f['below998'])}个单位低于99.8%控制下限——"
                     + "、".join(f"{name}（{p.x}/{p.n}）" for name, p in f["below998"][:12])
                     + ("等" if len(f["below998"]) > 12 else ""))
        if f["below95"]:
            text += f"{'；另有' if f['below998'] else ''}{len(f['below95'])}个单位低于95%控制下限"
        parts.append(text + "。")
        evidence.append({"label": f"漏斗图：{f['label']}", "url": f"{rates_url}#funnel-{f['key']}"})
    if parts:
        drafts.append({"kind": "uneven_progress", "title": "各级基层党组织活动进展不够平衡",
                       "text": "按单位规模作漏斗图比较（精确二项分布控制限，不作排名）：" + "".join(parts),
                       "recommendation": RECOMMENDATIONS["targeted"], "evidence": evidence})
    # (b) formulaic pledges in the drawn units.
    rate = org_rates().get("pledges.formulaic")
    drawn = list(Organisation.objects.filter(pk__in=DrawUnit.objects.filter(draw__inspection=inspection)
                                             .values("org_id")).order_by("code"))
    if rate is not None and drawn:
        values = rate.compute(drawn)
        hits = [(o, values[o.pk]) for o in drawn if values.get(o.pk, (0, 0))[0] > 0]
        if hits:
            total_x = sum(v[0] for v in values.values())
            total_n = sum(v[1] for v in values.values())
            lines = "、".join(f"{o.name}{v[0]}/{v[1]}" for o, v in hits)
            low, high = stats.wilson(total_x, total_n)
            drafts.append({
                "kind": "formulaic_pledges", "title": "少数党员的公开承诺程式化",
                "text": (f"随机检查的{len(drawn)}个单位中，{len(hits)}个单位有程式化承诺（{lines}）；合计"
                         f"{total_x}/{total_n}，占{stats.format_percent(total_x / total_n)}"
                         f"（95%区间{pct(low)}%–{pct(high)}%）。"),
                "recommendation": RECOMMENDATIONS["targeted"],
                "evidence": [{"label": "随机检查单位", "url": reverse("inspections:draw", args=[inspection.pk])}]})
    # (c) awareness vs recognition.
    rates = survey_rates(inspection)
    aware, recog = rate_by_name(rates, "awareness"), rate_by_name(rates, "recognition")
    if aware and recog and aware["estimate"] > recog["estimate"]:
        d, low, high = stats.newcombe_difference(aware["x"], aware["n"], recog["x"], recog["n"])
        real = low > 0
        drafts.append({
            "kind": "awareness_gap", "title": "群众对活动的知晓率和认同感还不完全一致",
            "text": (f"知晓率{stats.format_percent(aware['estimate'])}（n={aware['n']}），认同感"
                     f"{stats.format_percent(recog['estimate'])}（n={recog['n']}），相差{d * 100:.1f}个百分点"
                     f"（95%区间{pct(low)}至{pct(high)}个百分点）"
                     + ("，差距超出抽样误差。" if real else "，差距在抽样误差之内，需更多样本才能确认。")),
            "recommendation": RECOMMENDATIONS["interactive"],
            "evidence": [{"label": "问卷比率", "url": rates_url}]})
    # (d) rectifications from earlier inspections still open.
    earlier = (Rectification.objects.open().filter(subtree_q("org__path", inspection.org.path))
               .filter(Q(inspection__end__lt=inspection.start)).select_related("org", "inspection"))
    earlier = list(earlier.order_by("deadline", "id")[:200])
    if earlier:
        overdue = sum(1 for r in earlier if r.deadline < today)
        drafts.append({
            "kind": "open_rectifications", "title": "以往检查发现问题的整改尚未全部落实",
            "text": (f"以往检查下达的整改任务中仍有{len(earlier)}项未销号，其中{overdue}项已超过整改时限："
                     + "、".join(f"{r.org.name}（{r.deadline:%Y-%m-%d}）" for r in earlier[:10])
                     + ("等。" if len(earlier) > 10 else "。")),
            "recommendation": RECOMMENDATIONS["targeted"],
            "evidence": [{"label": f"整改任务 #{r.pk}", "url": reverse("inspections:rectification_detail", args=[r.pk])}
                         for r in earlier[:10]]})
    return drafts
