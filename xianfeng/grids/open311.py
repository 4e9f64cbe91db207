"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): services, a service definition, requests (GET and
POST), one request — each in the spec's XML (`.xml`, the required format) and JSON (`.json`).

Mounted at /grids/open311/v2/ (and at /open311/v2/ by the root URL map). Errors come in the spec's shape:
`[{"code": 400, "description": "..."}]` in JSON, `<errors><error><code>400</code><description>…` in XML. Our states
map to open/closed; `status_notes` carries our state, the outcome, and for merged duplicates the original's id.
Reading is public, so nothing personal is shown: no reporter's name or phone, no photo (photos stay private to those
who may see the case; `media_url` is only a link an outside client itself sent), addresses without house numbers and
positions rounded to about 100 m, and no place at all for cases found on a household visit (their place is the
household's home) or of a category whose place is private (邻里纠纷). Signed-in staff whose scope holds a case see
its exact place. Posting needs an `api_key` of an Open311Client, whose organisation bounds where reports may land;
positions outside the county's area (the grids' bounding box plus GRIDS_AREA_MARGIN_M) are refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from xianfeng.core.ids import normalise_text

from . import services
from .models import CLOSED_STATES, Case, CaseCategory, Open311Client, Status

DEFAULT_DAYS = 90  # the spec's default window for requests.json
MAX_RESULTS = 1000  # the spec's suggested cap


XML_CONTENT_TYPE = "text/xml; charset=utf-8"
# The spec's element names: a list's root and the name of each item in it.
LIST_ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
              "values": "value"}


def _xml_value(parent, name: str, value) -> None:
    from xml.etree.ElementTree import SubElement

    node = SubElement(parent, name)
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(node, key, inner)
    elif isinstance(value, list):
        for inner in value:
            _xml_value(node, LIST_ITEMS.get(name, "item"), inner)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def to_xml(root: str, data) -> bytes:
    """`data` (a list of dicts under `root`, or one dict as `root`) as the spec's XML, UTF-8, with its declaration."""
    from xml.etree.ElementTree import Element, tostring

    top = Element(root)
    if isinstance(data, list):
        for item in data:
            _xml_value(top, LIST_ITEMS[root], item)
    else:
        for key, value in data.items():
            _xml_value(top, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(top, encoding="utf-8", xml_declaration=False)


def answer(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    """The same answer as JSON or as the spec's XML, by the format the client asked for (the URL's suffix)."""
    if fmt == "xml":
        return HttpResponse(to_xml(root, data), content_type=XML_CONTENT_TYPE, status=status)
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(code: int, description: str, fmt: str = "json") -> HttpResponse:
    return answer(fmt, "errors", [{"code": code, "description": description}], status=code)


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def service_json(category: CaseCategory) -> dict:
    return {"service_code": category.code, "service_name": category.name, "description": category.description,
            "metadata": False, "type": "realtime", "keywords": category.keywords, "group": category.group}


def status_notes(case: Case) -> str:
    notes = case.get_status_display()
    if case.status == Status.CLOSED:
        notes += f"：{case.get_outcome_display()}"
        if case.transferred_to is not None:
            notes += f"（转 {case.transferred_to.name}）"
        if case.outcome_note:
            notes += f"。{case.outcome_note[:200]}"
    elif case.status == Status.MERGED and case.merged_into is not None:
        notes += f"：并入 {case.merged_into.number}"
    return notes


# A house number: digits (or a Chinese numeral before a unit such as 号, 弄, 幢, 室) and all that follows.
HOUSE_NUMBER = re.compile(r"[0-9０-９#＃]|[一二三四五六七八九十百零〇两]+\s*(?:号|弄|幢|栋|单元|室|楼|户|组|支弄)")
PUBLIC_DECIMALS = 3  # about 110 m of latitude: the street, not the door (OPEN311_PUBLIC_DECIMALS)


def public_address(address: str) -> str:
    """The address down to the street or community: everything from the first house number on is dropped
    (「河滨路1号附近」→「河滨路」)."""
    match = HOUSE_NUMBER.search(address)
    street = address[:match.start()] if match else address
    return street.rstrip(" ,，、;；:：-—(（").strip()


def public_position(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, getattr(settings, "OPEN311_PUBLIC_DECIMALS", PUBLIC_DECIMALS))


def request_json(case: Case, exact: bool = False) -> dict:
    """One request as the spec describes it, with nothing personal (see the module's docstring). The public gets
    the address without house numbers and the position rounded, and neither for cases found on a household visit
    or of a category whose place is private (邻里纠纷); `exact` (staff who may see the case) gets them as recorded."""
    private_place = not exact and (case.source == Case.Source.VISIT or case.category.place_private)
    if exact:
        address, lat, lng = case.address, case.latitude, case.longitude
    elif private_place:
        address, lat, lng = "", None, None
    else:
        address, lat, lng = public_address(case.address), public_position(case.latitude), public_position(
            case.longitude)
    return {
        "service_request_id": case.number,
        "status": "closed" if case.status in CLOSED_STATES else "open",
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.handling_unit.name if case.handling_unit is not None else "",
        "service_notice": "",
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.due_at) if case.status not in CLOSED_STATES else None,
        "address": address,
        "address_id": "",
        "zipcode": "",
        "lat": lat,
        "long": lng,
        "media_url": case.media_url,
    }


def _cases():
    return Case.objects.select_related("category", "handling_unit", "transferred_to", "merged_into")


def _requests(request, cases) -> list[dict]:
    """The cases as requests; exact places only for a signed-in user whose scope holds the case (one query)."""
    cases = list(cases)
    exact: set[int] = set()
    user = getattr(request, "user", None)
    if cases and user is not None and user.is_authenticated:
        exact = set(Case.objects.restrict(user, "view").filter(pk__in=[c.pk for c in cases])
                    .values_list("pk", flat=True))
    return [request_json(case, exact=case.pk in exact) for case in cases]


@require_GET
def services_list(request, fmt: str = "json"):
    return answer(fmt, "services",
                  [service_json(c) for c in CaseCategory.objects.filter(is_active=True).order_by("code")])


@require_GET
def service_definition(request, code: str, fmt: str = "json"):
    category = CaseCategory.objects.filter(code=code, is_active=True).first()
    if category is None:
        return error(404, f"service_code {code[:40]} not found", fmt)
    return answer(fmt, "service_definition", {"service_code": category.code, "attributes": []})


def _parse_when(value: str, name: str) -> dt.datetime:
    when = None
    with contextlib.suppress(ValueError):
        when = parse_datetime(value)
    if when is None:
        raise ValidationError(f"{name} must be a W3C date-time, e.g. 2026-09-01T00:00:00+08:00")
    return timezone.make_aware(when) if timezone.is_naive(when) else when


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_view(request, fmt: str = "json"):
    if request.method == "POST":
        return _post_request(request, fmt)
    params = request.GET
    qs = _cases()
    ids = [i.strip() for i in (params.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # the spec: with ids, every other parameter is ignored
        return answer(fmt, "service_requests", _requests(request, qs.filter(number__in=ids[:MAX_RESULTS]).order_by("id")))
    try:
        end = _parse_when(params["end_date"], "end_date") if params.get("end_date") else timezone.now()
        start = (_parse_when(params["start_date"], "start_date") if params.get("start_date")
                 else end - dt.timedelta(days=DEFAULT_DAYS))
    except ValidationError as exc:
        return error(400, exc.messages[0], fmt)
    if start > end:
        return error(400, "start_date is after end_date", fmt)
    qs = qs.filter(created_at__gte=start, created_at__lte=end)
    codes = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
    if codes:
        qs = qs.filter(category__code__in=codes)
    status = (params.get("status") or "").strip()
    if status:
        wanted = {s.strip() for s in status.split(",")}
        if not wanted <= {"open", "closed"}:
            return error(400, "status must be open or closed", fmt)
        if wanted == {"open"}:
            qs = qs.exclude(status__in=CLOSED_STATES)
        elif wanted == {"closed"}:
            qs = qs.filter(status__in=CLOSED_STATES)
    return answer(fmt, "service_requests", _requests(request, qs.order_by("-created_at", "-id")[:MAX_RESULTS]))


def _post_request(request, fmt: str):
    p = request.POST
    client = Open311Client.objects.select_related("org").filter(api_key=p.get("api_key") or "", is_active=True).first()
    if client is None:
        return error(403, "api_key is missing or not valid", fmt)
    code = (p.get("service_code") or "").strip()
    category = CaseCategory.objects.filter(code=code, is_active=True).first() if code else None
    if category is None:
        return error(400, f"service_code {code[:40]} not found" if code else "service_code is required", fmt)
    lat, lng = p.get("lat"), p.get("long")
    address = normalise_text(p.get("address_string"))[:200]
    if not (lat and lng) and not address:
        return error(400, "a location is required: lat and long, or address_string", fmt)
    if not (lat and lng) and client.org.kind not in services.GRID_ORG_KINDS:
        return error(400, "address_string alone cannot be placed in a grid for this client; send lat and long", fmt)
    name = " ".join(x for x in (normalise_text(p.get("last_name")), normalise_text(p.get("first_name"))) if x)
    media_url = (p.get("media_url") or "").strip()[:500]
    if media_url and not media_url.startswith(("http://", "https://")):
        return error(400, "media_url must be an http(s) address", fmt)
    try:
        with transaction.atomic():
            lat_f = lng_f = None
            grid = None
            if lat and lng:
                lat_f, lng_f = services.geo.check_point(lat, lng)
            else:
                grid = services.default_grid(client.org)
            case = services.case_open(category=category, description=p.get("description") or "", actor=None,
                                      source=Case.Source.OPEN311, grid=grid, lat=lat_f, lng=lng_f, address=address,
                                      media_url=media_url, reporter_name=name[:50],
                                      reporter_phone=p.get("phone") or "")
            if not case.org.path.startswith(client.org.path):
                raise ValidationError({"location": ["the location lies outside the area this client may report in"]})
    except ValidationError as exc:
        messages = [m for ms in exc.message_dict.values() for m in ms] if hasattr(exc, "error_dict") else exc.messages
        return error(400, "; ".join(messages), fmt)
    return answer(fmt, "service_requests", [{"service_request_id": case.number, "service_notice": "",
                                             "account_id": None}])


@require_GET
def request_detail(request, number: str, fmt: str = "json"):
    case = _cases().filter(number=number).first()
    if case is None:
        return error(404, f"service_request_id {number[:40]} not found", fmt)
    return answer(fmt, "service_requests", _requests(request, [case]))
