"""URLs for the board benchmark: everything the project serves, and the hello-world baseline."""

from django.http import HttpResponse
from django.urls import path

from xianfeng.urls import urlpatterns as project_urls


def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [path("bench-hello/", hello), *project_urls]
