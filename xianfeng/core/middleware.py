"""Request checks that hold for every page."""

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from xianfeng.core.uploads import limit

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class UploadSizeMiddleware:
    """A request whose declared body is larger than UPLOAD_MAX_REQUEST_BYTES (21 MB: the largest upload any page
    takes, 20 MB, and its form) is refused with 413 before anything reads it — no temporary file, no parsing. Django
    reads no body without a Content-Length, so the declared length is the whole of it. Pages then apply their own,
    smaller limits through core.uploads."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        most = limit("UPLOAD_MAX_REQUEST_BYTES")
        if length > most:
            message = _("The upload is larger than %(size)d MB; split or compress it and try again.") % {
                "size": most // (1024 * 1024)}
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in a query string or form field is refused with 400 before any view runs.

    PostgreSQL cannot store NUL in text, so without this a stray %00 would end in a database error (a 500).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request.GET) or (
            request.method == "POST" and request.content_type in FORM_TYPES and self._has_nul(request.POST)
        ):
            message = _("The request contains a NUL character.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_nul(data) -> bool:
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())
