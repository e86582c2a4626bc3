from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"django index {request.get_full_path()}", content_type="text/plain")


@csrf_exempt
def form(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"name": request.POST["name"], "tags": request.POST.getlist("tag")})


@csrf_exempt
def upload(request: HttpRequest) -> JsonResponse:
    f = request.FILES["file"]
    data = f.read()
    return JsonResponse({"filename": f.name, "size": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def parts() -> Iterator[bytes]:
        for i in range(5):
            yield f"part {i}\n".encode()

    return StreamingHttpResponse(parts(), content_type="text/plain")


def cookie(request: HttpRequest) -> HttpResponse:
    resp = JsonResponse({"flavour": request.COOKIES.get("flavour"),
                         "https": request.is_secure(), "host": request.get_host()})
    resp.set_cookie("flavour", "ginger")
    return resp
