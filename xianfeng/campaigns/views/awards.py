"""Pages for award rounds (the committee's side) and nominations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from xianfeng.core.ids import parse_id_number
from xianfeng.core.policy import allows, ensure, get_or_404
from xianfeng.orgs.models import Member

from .. import services
from ..forms import (
    AwardRoundForm,
    CategoryFormSet,
    NominationForm,
    ObjectionAnswerForm,
    ScoreForm,
)
from ..models import (
    CommitteeScore,
    Nomination,
    Objection,
)
from ..policies import administers_any, covering_rounds, orgs_for
from .common import Invalid, _create, _lead_orgs, _page, _posted_org_in, _rows, _run


@login_required
@require_GET
def award_list(request):
    rounds = covering_rounds(request.user).annotate(n=Count("categories__nominations"))
    return render(request, "campaigns/award_list.html", {"rounds": rounds, "may_admin": administers_any(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def award_detail(request, pk: int):
    """Nominations with the committee's scores; the operations of each stage to those who may administer the round."""
    award = get_or_404(covering_rounds(request.user).select_related("org"), pk=pk)
    may_admin = allows(request.user, "admin", award)
    if request.method == "POST":
        ensure(may_admin)
        op = request.POST.get("op", "")
        try:
            if op == "open":
                services.award_round_open_voting(award=award, actor=request.user)
            elif op == "publicity":
                services.award_round_start_publicity(award=award, actor=request.user)
            elif op == "publish":
                services.award_round_publish(award=award, actor=request.user)
            elif op == "score":
                nomination = get_or_404(Nomination.objects.filter(category__round=award),
                                        pk=request.POST.get("nomination") or 0)
                form = ScoreForm(request.POST)
                if not form.is_valid():
                    raise ValidationError([e for errs in form.errors.values() for e in errs])
                services.committee_score(nomination=nomination, score=form.cleaned_data["score"],
                                         actor=request.user)
            elif op == "answer":
                objection = get_or_404(Objection.objects.filter(nomination__category__round=award),
                                       pk=request.POST.get("objection") or 0)
                answer_form = ObjectionAnswerForm(request.POST)
                if not answer_form.is_valid():
                    raise ValidationError([e for errs in answer_form.errors.values() for e in errs])
                services.objection_answer(objection=objection, actor=request.user, **answer_form.cleaned_data)
            else:
                raise ValidationError(_("Unknown operation."))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("The operation was done."))
        return redirect("campaigns:award_detail", pk=award.pk)
    categories = list(award.categories.all())
    nominations = (Nomination.objects.filter(category__round=award).select_related("category", "nominated_by")
                   .annotate(n_scores=Count("scores", distinct=True)))
    by_category: dict[int, list] = {c.pk: [] for c in categories}
    for n in nominations:
        by_category[n.category_id].append(n)
    try:
        results = services.round_results(award)
    except services.ResultsHidden:
        results = None
    scored: set[int] = set()
    if may_admin:
        scored = set(CommitteeScore.objects.filter(scorer=request.user, nomination__category__round=award)
                     .values_list("nomination_id", flat=True))
    context = {
        "award": award, "may_admin": may_admin, "results": results,
        "sections": [(c, by_category[c.pk], results.get(c.pk, []) if results is not None else None) for c in categories],
        "objections": Objection.objects.filter(nomination__category__round=award).select_related("nomination"),
        "scored": scored, "score_form": ScoreForm(), "answer_form": ObjectionAnswerForm(),
        "publicity_end": services.publicity_end(award), "window": services.window_text(award),
        "may_nominate": orgs_for(request.user, "change").filter(path__startswith=award.org.path).exists(),
    }
    return render(request, "campaigns/award_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def award_create(request):
    """A round with configurable categories (1+9 by default), its vote window, weights and publicity period."""
    orgs = _lead_orgs(request)
    initial = [{"code": c, "name": n, "nominee_kind": k, "quota": q} for c, n, k, q in services.DEFAULT_CATEGORIES]
    formset = CategoryFormSet(request.POST or None, prefix="c", initial=None if request.POST else initial)
    return _create(request, orgs=orgs, form=AwardRoundForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.award_round_create(
                       categories=[(r["code"], r["name"], r["nominee_kind"], r["quota"]) for r in _rows(formset)],
                       actor=request.user, **d),
                   formsets=[(_("Categories"), formset)], title=_("New award round"),
                   back=(reverse("campaigns:award_list"), _("Award rounds")), done=_("The award round was created."),
                   goto=lambda a: reverse("campaigns:award_detail", args=[a.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def nominate(request, pk: int):
    """An organisation nominates a unit (by choice) or a member (by ID number) of its own subtree."""
    award = get_or_404(covering_rounds(request.user).select_related("org"), pk=pk)
    orgs = orgs_for(request.user, "change").filter(path__startswith=award.org.path)
    ensure(orgs.exists())
    form = NominationForm(request.POST or None, categories=award.categories.all(), orgs=orgs)
    if request.method == "POST":
        _posted_org_in(request, orgs, "nominated_by")
        _posted_org_in(request, orgs, "nominee_org")

        def call(d):
            member = None
            if d["nominee_id_number"]:
                number = parse_id_number(d["nominee_id_number"]).number
                member = Member.objects.filter(person__id_number=number).select_related("person", "org").first()
                if member is None:
                    raise ValidationError({"nominee_id_number": [_("No member has this ID number.")]})
            return services.nomination_create(category=d["category"], nominated_by=d["nominated_by"],
                                              nominee_org=d["nominee_org"], nominee_member=member,
                                              citation=d["citation"], actor=request.user)

        try:
            _run(request, form, call)
        except Invalid:
            pass
        else:
            messages.success(request, _("The nomination was made."))
            return redirect("campaigns:award_detail", pk=award.pk)
    return _page(request, title=_("Nominate") + f" · {award.name}", form=form,
                 back=(reverse("campaigns:award_detail", args=[award.pk]), award.name),
                 intro=_("The nominee's figures are taken from the platform when the nomination is made."),
                 status=400 if request.method == "POST" else 200)
