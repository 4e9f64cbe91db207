"""The inbox, the unread badge (polled by htmx), what was sent to me, channel choices, and the SMS outbox."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from xianfeng.core import policy
from xianfeng.core.policy import NotAllowed

from .models import (
    ANY_KIND,
    Channel,
    ChannelPreference,
    Delivery,
    DeliveryAttempt,
    DeliverySchedule,
    GroupPost,
    Notification,
    SmsMessage,
    WebhookEndpoint,
)
from .providers import explain
from .services import (
    notification_mark_read,
    notifications_mark_all_read,
    preference_clear,
    preference_set,
    receipts_accept,
    schedule_set,
    webhook_endpoint_add,
    webhook_endpoint_remove,
)

BADGE_POLL_SECONDS = 2


def _own(request, pk: int) -> Notification:
    """One of the user's own notifications; anybody else's is 404, exactly like a missing one."""
    return policy.get_visible(Notification, request.user, "view", pk=pk)


@login_required
def inbox(request):
    qs = Notification.objects.inbox(request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        qs = qs.unread()
    page = Paginator(qs.order_by("-created_at", "-id"), 30).get_page(request.GET.get("page"))
    return render(request, "notify/inbox.html", {
        "page": page, "unread_only": unread_only,
        "unread_count": Notification.objects.inbox(request.user).unread().count(),
    })


@login_required
def detail(request, pk: int):
    notification = _own(request, pk)
    notification_mark_read(notification=notification, actor=request.user)
    safe_link = notification.link and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return render(request, "notify/detail.html", {"n": notification, "safe_link": safe_link})


@login_required
@require_POST
def mark_read(request, pk: int):
    notification = _own(request, pk)
    notification_mark_read(notification=notification, actor=request.user)
    if request.headers.get("HX-Request"):
        response = HttpResponse(render_to_string("notify/_row.html", {"n": notification}, request=request))
        response["HX-Trigger"] = "notify-changed"
        return response
    return redirect("notify:inbox")


@login_required
@require_POST
def mark_all_read(request):
    n = notifications_mark_all_read(actor=request.user)
    messages.success(request, _("%(n)d notifications marked read.") % {"n": n})
    return redirect("notify:inbox")


def badge(request):
    """The unread count as a small fragment that re-polls itself every two seconds (htmx). Signed-out callers get
    htmx's 286 answer, which stops the polling."""
    if not request.user.is_authenticated:
        return HttpResponse("", status=286)
    return render(request, "notify/_badge.html", badge_context(request.user))


def badge_context(user) -> dict:
    return {"unread_count": Notification.objects.inbox(user).unread().count(), "poll_seconds": BADGE_POLL_SECONDS}


@login_required
def sent_to_me(request):
    qs = (Delivery.objects.filter(notification__recipient=request.user)
          .select_related("notification").order_by("-created_at", "-id"))
    channel = request.GET.get("channel")
    if channel in Channel.values:
        qs = qs.filter(channel=channel)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "notify/sent.html", {"page": page, "channels": Channel.choices, "channel": channel or ""})


@login_required
def delivery_detail(request, pk: int):
    delivery = policy.get_visible(Delivery.objects.select_related("notification"), request.user, "view", pk=pk)
    return render(request, "notify/delivery_detail.html", {"d": delivery, "attempts": delivery.attempt_rows.all(),
                                                          "receipts": delivery.receipts.all()})


@login_required
def preferences(request):
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "save":
                kind = (request.POST.get("kind") or ANY_KIND).strip()
                preference_set(user=user, kind=kind, channels=request.POST.getlist("channels"), actor=user)
                messages.success(request, _("Saved."))
            elif action == "clear":
                preference_clear(user=user, kind=request.POST.get("kind", ""), actor=user)
                messages.success(request, _("Saved."))
            elif action == "schedule":
                schedule_set(user=user, quiet_from=request.POST.get("quiet_from"),
                             quiet_until=request.POST.get("quiet_until"),
                             daily_digest=bool(request.POST.get("daily_digest")), actor=user)
                messages.success(request, _("Saved."))
            elif action == "add_webhook":
                webhook_endpoint_add(user=user, url=request.POST.get("url", ""), actor=user)
                messages.success(request, _("Webhook added."))
            elif action == "remove_webhook":
                endpoint = policy.get_visible(WebhookEndpoint, user, "change", pk=request.POST.get("endpoint") or 0)
                webhook_endpoint_remove(endpoint=endpoint, actor=user)
                messages.success(request, _("Webhook removed."))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("notify:preferences")
    prefs = list(ChannelPreference.objects.filter(user=user))
    known = set(Notification.objects.filter(recipient=user).order_by("kind").values_list("kind", flat=True)
                .distinct()[:100])
    known -= {p.kind for p in prefs}
    return render(request, "notify/preferences.html", {
        "prefs": prefs, "other_kinds": sorted(known), "channels": Channel.choices,
        "endpoints": user.webhook_endpoints.filter(is_active=True),
        "has_default": any(p.kind == ANY_KIND for p in prefs),
        "schedule": DeliverySchedule.objects.filter(user=user).first(),
    })


@login_required
def sms_outbox(request):
    """What the recording SMS gateway kept (tests, the demo), the text messages and calls the providers refused
    (with the provider's code in Chinese) and the group posts parked: system administrators only, others 404."""
    policy.require_any(request.user, "view", SmsMessage)
    page = Paginator(SmsMessage.objects.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    failed = list(Delivery.objects.filter(channel__in=[Channel.SMS, Channel.VOICE], attempts__gt=0)
                  .exclude(last_error="").select_related("notification").order_by("-created_at", "-id")[:50])
    codes = {}
    for delivery_id, code in (DeliveryAttempt.objects.filter(delivery_id__in=[d.pk for d in failed], ok=False)
                              .exclude(code="").order_by("at", "id").values_list("delivery_id", "code")):
        codes[delivery_id] = code
    for d in failed:
        d.code = codes.get(d.pk, "")
        d.code_explained = explain(d.code)
    parked = GroupPost.objects.filter(status=GroupPost.Status.PARKED).select_related("robot")[:50]
    return render(request, "notify/sms_outbox.html", {"page": page, "failed": failed, "parked": parked})


@csrf_exempt
@require_POST
def receipts(request, provider: str, token: str):
    """Providers' status pushes (SMS status reports, voice call results): the token in the address is checked;
    a wrong one is refused (403) and logged. Answers in the shape each provider expects."""
    try:
        kept = receipts_accept(provider=provider, token=token, body=request.body)
    except NotAllowed:
        return JsonResponse({"code": 403, "msg": "forbidden"}, status=403)
    except ValidationError as exc:
        return JsonResponse({"code": 400, "msg": "；".join(exc.messages)}, status=400)
    if provider == "tencent":
        return JsonResponse({"result": 0, "errmsg": "OK", "kept": kept})
    return JsonResponse({"code": 0, "msg": "成功", "kept": kept})
