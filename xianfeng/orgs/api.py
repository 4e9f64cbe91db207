"""/api/v1/ endpoints for organisations and members, behind restrict() and the shared FilterSets."""

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class ThrottledObtainAuthToken(ObtainAuthToken):
    """POST username + password → {"token": …}; throttled like the sign-in page."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


def register(router) -> None:
    pass
