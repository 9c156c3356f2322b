from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ops.access import metrics_access
from ops.checks import readiness_check
from ops.collectors import AtelierCollector


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    results = readiness_check()
    failed = [result.name for result in results if not result.ok]
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {
            r.name: {"ok": r.ok, "ms": r.ms, **({"error": r.error} if r.error else {})}
            for r in results
        },
    }
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    status = metrics_access(
        authorization=request.headers.get("Authorization", ""),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        token=settings.ATELIER_METRICS_TOKEN,
        allow=settings.ATELIER_METRICS_ALLOW,
    )
    if status != 200:
        response = HttpResponse("Metrics need a token or an allowed address.\n", status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AtelierCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
