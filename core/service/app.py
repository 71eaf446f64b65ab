"""The HTTP service: FastAPI routes over the listing actions, with API keys, limits and metrics.

Every answer is JSON; every error is ``{"error": {"kind": …, "message": …}}`` with a 4xx status for bad
input (never a stack trace, never a 500 for what a client sent).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import NamedTuple

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount, Route

from core.actions.listing_service import Listing, ListingService, ServiceHistory, decoded_photo
from core.calibration import Promise
from core.dataset import Dataset, load_dataset
from core.errors import VitrineError
from core.labels.versions import apply_version, selected_version
from core.listing_limits import MAX_DESCRIPTION_CHARS, MAX_PHOTO_BYTES, MAX_TITLE_CHARS
from core.service.batching import MicroBatcher
from core.service.keys import ApiKey, KeyStore
from core.service.limits import RateLimiter
from core.workspace import Workspace

log = logging.getLogger(__name__)
GC_THRESHOLD = 50_000  # allocations between young-generation passes (Python's default: 700)
# The most text (characters) a call of a model computing in Python runs on the event loop, holding it: 32
# listings of 250 characters took 3 ms with tfidf and 13 ms with tfidf_specs.
LOOP_TEXT_CHARS = 8_000
GATHER_MS = 5.0  # measured with clip_a on 2 cores, 16 clients: 33.8 requests/s without it, 40.6 with it
# Swagger UI 5 (fastapi-swagger's copy), which reads OpenAPI 3.1, the version FastAPI writes: Swagger UI 4
# showed "Unable to render this definition" instead of any route.
SWAGGER_UI_FILES = resources.files("fastapi_swagger") / "resources"
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs: which scenario, its limits, who may call it from a browser."""

    scenario: str = "tfidf"
    max_body_bytes: int = 32 * 2**20
    max_listings: int = 256  # per request
    requests_per_second: float = 200.0  # per key, with a burst of twice that
    cors_origins: tuple[str, ...] = ()
    timeout_s: float = 30.0
    max_batch: int = 32
    max_wait_ms: float | None = None  # None: chosen for the scenario (``gathering``)
    model_calls: int | None = None  # at once; None: chosen for the scenario (``gathering``)
    promise: Promise = field(default_factory=Promise)

    def environment(self) -> dict[str, str]:
        """These settings as the variables ``from_environment`` reads (how ``serve`` hands them to uvicorn's
        workers)."""
        return {"VITRINE_SERVICE_SCENARIO": self.scenario, "VITRINE_SERVICE_CORS": ",".join(self.cors_origins),
                "VITRINE_SERVICE_MAX_BODY": str(self.max_body_bytes),
                "VITRINE_SERVICE_RATE": str(self.requests_per_second),
                "VITRINE_SERVICE_TIMEOUT": str(self.timeout_s), "VITRINE_SERVICE_MAX_BATCH": str(self.max_batch),
                "VITRINE_SERVICE_MAX_WAIT_MS": "" if self.max_wait_ms is None else str(self.max_wait_ms),
                "VITRINE_SERVICE_MODEL_CALLS": "" if self.model_calls is None else str(self.model_calls)}

    @classmethod
    def from_environment(cls) -> ServiceSettings:
        """The settings ``serve`` hands its workers through the environment (``VITRINE_SERVICE_*``)."""
        env = os.environ
        origins = tuple(o.strip() for o in env.get("VITRINE_SERVICE_CORS", "").split(",") if o.strip())
        return cls(scenario=env.get("VITRINE_SERVICE_SCENARIO", "tfidf"),
                   max_body_bytes=int(env.get("VITRINE_SERVICE_MAX_BODY", cls.max_body_bytes)),
                   requests_per_second=float(env.get("VITRINE_SERVICE_RATE", cls.requests_per_second)),
                   cors_origins=origins, timeout_s=float(env.get("VITRINE_SERVICE_TIMEOUT", cls.timeout_s)),
                   max_batch=int(env.get("VITRINE_SERVICE_MAX_BATCH", cls.max_batch)),
                   max_wait_ms=float(env["VITRINE_SERVICE_MAX_WAIT_MS"]) if env.get("VITRINE_SERVICE_MAX_WAIT_MS")
                   else None,
                   model_calls=int(env["VITRINE_SERVICE_MODEL_CALLS"]) if env.get("VITRINE_SERVICE_MODEL_CALLS")
                   else None)

    def gathering(self, service: ListingService) -> Gathering:
        """How the service's model calls gather listings, as set, else for the service's scenario. CLIP on the
        CPU computes a batch of a few listings on one core (one of torch's compute streams,
        ``core.embeddings.streams``): one call per stream keeps every core busy, and a wait of ``GATHER_MS``
        lets the requests of the clients a call just answered join the next one instead of leaving it one
        listing. Others (tfidf's sparse products, DenseNet's own threads, a GPU) run one call at a time,
        waiting for nobody. tfidf computes in Python, holding the interpreter's lock: its calls of little text
        run on the event loop, a long one in a thread so that the loop keeps answering meanwhile."""
        on_streams = service.scenario.computes_on_streams and service.device == "cpu"
        if self.model_calls:
            calls = self.model_calls
        elif on_streams:
            # Here, where its scenario has loaded torch already: a tfidf service never imports it (500 MB).
            from core.embeddings.streams import compute_streams

            calls = compute_streams().count
        else:
            calls = 1
        wait = self.max_wait_ms if self.max_wait_ms is not None else GATHER_MS if on_streams else 0.0
        return Gathering(calls, wait / 1000, LOOP_TEXT_CHARS if service.scenario.computes_in_python else 0)


class Gathering(NamedTuple):
    """How model calls gather listings: how many run at once, how long a call waits for more (seconds), and
    the most text (characters) a call may hold to run on the event loop rather than in a thread."""

    calls: int
    wait: float
    loop_text_chars: int = 0

    def on_loop(self, listings: Sequence[Listing]) -> bool:
        """Whether a call on these listings runs on the event loop."""
        return self.loop_text_chars > 0 and \
            sum(len(x.name) + len(x.description) + len(x.specifications) for x in listings) <= self.loop_text_chars


class ListingIn(BaseModel):
    """A listing as the marketplace's form sends it."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    name: str = Field("", max_length=MAX_TITLE_CHARS)
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    specifications: str = Field("", max_length=MAX_DESCRIPTION_CHARS,
                                description="As the marketplace exports them, e.g. {\"product_specification\"=>…}")
    photo: str | None = Field(None, max_length=MAX_PHOTO_BYTES * 4 // 3 + 4, pattern=BASE64,
                              description="The photo's bytes, base64")

    def listing(self) -> Listing:
        return Listing(self.id, self.name, self.description, self.specifications,
                       None if self.photo is None else decoded_photo(self.photo))


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listings: list[ListingIn] = Field(min_length=1)
    to_review: bool = Field(False, description="Send the listings that need review to the operators' queue (the "
                                               "key needs the 'review' right)")


class TopClass(BaseModel):
    category: str
    probability: float


class ClassifiedOut(BaseModel):
    id: str
    predicted: str | None
    confidence: float | None
    top: list[TopClass]
    needs_review: bool
    status: str
    accepted_level: int | None = Field(None, description="With a level below the first (serve --level): the "
                                                         "deepest level it is filed at, 0 when it goes to review")
    level_confidences: list[float] | None = Field(None, description="Its confidence at each level, the first "
                                                                    "first")


class ClassifyOut(BaseModel):
    scenario: str
    promise: str
    results: list[ClassifiedOut]
    review_batch: str | None = Field(None, description="With to_review: the review queue's batch id, when any "
                                                       "listing was sent")
    sent_to_review: int = 0


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listing: ListingIn
    target: str | None = None


class WordOut(BaseModel):
    word: str
    relevance: float
    start: int
    end: int
    seen: bool


class ExplainOut(BaseModel):
    target: str
    predicted: str
    probabilities: dict[str, float]
    words: list[WordOut]
    notes: list[str]
    heatmap: list[list[float]] | None
    overlay_png: str | None = Field(None, description="The photo with its heatmap, PNG, base64")


class AdviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listing: ListingIn
    category: str | None = Field(None, description="The category the seller chose, if any")


class AdviceOut(BaseModel):
    predicted: str | None
    confidence: float | None
    chosen: str | None
    agrees: bool | None
    missing_words: list[str]
    pulling_words: list[str]
    photo_says: str | None
    text_says: str | None
    sentences: list[str]


class ErrorOut(BaseModel):
    error: dict[str, str]


KEYED_PREFIX = "/v1/"  # the routes that need an API key
API_KEY_SCHEME = "APIKey"

# What a body looks like, for the message that one is not JSON.
BODY_EXAMPLES = {"/v1/classify": '{"listings": [{"id": "1", "name": "…", "description": "…"}]}',
                 "/v1/explain": '{"listing": {"id": "1", "name": "…", "description": "…"}}',
                 "/v1/advice": '{"listing": {"id": "1", "name": "…", "description": "…"}, "category": "…"}'}


def _json_body(model: type[BaseModel]) -> dict:
    """The OpenAPI request body of a route that validates ``model`` itself."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def _validated(model: type[BaseModel], content_type: str | None, body: bytes) -> BaseModel:
    """``body`` as ``model``, or the ``RequestValidationError`` FastAPI would raise for it: a body sent without
    JSON's content type is not read as JSON, as FastAPI does not read it."""
    if content_type is None or not _is_json(content_type):
        raise RequestValidationError([{"type": "model_attributes_type", "loc": ("body",), "msg": "not JSON",
                                       "input": None}])
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class _NamedRoute(Route):
    """A Starlette route that names itself in the request's scope, as FastAPI's routes do (the metrics count
    requests by it)."""

    def matches(self, scope):
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self
        return match, child


def error(status: int, kind: str, message: str, headers: dict | None = None) -> JSONResponse:
    """The one shape of every error."""
    return JSONResponse({"error": {"kind": kind, "message": message}}, status_code=status, headers=headers)


class _Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("vitrine_requests", "Requests by endpoint and status", ["endpoint", "status"],
                                registry=self.registry)
        self.latency = Histogram("vitrine_request_seconds", "Request latency by endpoint", ["endpoint"],
                                 buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30),
                                 registry=self.registry)
        self.batch = Histogram("vitrine_model_batch_listings", "Listings per model call",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.listings = Counter("vitrine_listings", "Listings classified, by whether they need review",
                                ["needs_review"], registry=self.registry)
        self.errors = Counter("vitrine_errors", "Answers of status 400 or more, by status", ["status"],
                              registry=self.registry)
        self._children: dict[tuple, Counter | Histogram] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Counter | Histogram:
        """``metric.labels(*labels)``, kept: prometheus_client checks the labels and takes a lock on each call,
        three times a request. Made on first use, as ``labels`` does, so a series appears once it counts."""
        key = (metric, *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found


class _BodyLimit:
    """Refuses a body over ``limit`` bytes (413): by its Content-Length before reading any, or as it streams
    in, never holding more than the cap."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    def too_large(self, *asgi):
        return error(413, "too_large", f"The request body is over {self.limit // 2**20} MB.")(*asgi)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.limit:
                return await self.too_large(scope, receive, send)
            # The server reads no more than a declared length: nothing to count.
            return await self.app(scope, receive, send)
        # Without a length (a chunked body), read it here up to the cap, then hand it on: the app reads it
        # whole anyway, and refusing midway inside the app would read as a parse error (400).
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await self.too_large(scope, receive, send)
            more = message.get("more_body", False)
        body = b"".join(chunks)

        async def replayed():
            nonlocal body
            if body is None:
                return await receive()
            message, body = {"type": "http.request", "body": body, "more_body": False}, None
            return message
        await self.app(scope, replayed, send)


class _Measured:
    """Counts each request by endpoint and status and times it (a plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` costs a task per request)."""

    def __init__(self, app, metrics: _Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            endpoint = route.path if route is not None else _unrouted_endpoint(scope)
            self.metrics.child(self.metrics.requests, endpoint, str(status[0])).inc()
            self.metrics.child(self.metrics.latency, endpoint).observe(time.perf_counter() - started)
            if status[0] >= 400:
                self.metrics.child(self.metrics.errors, str(status[0])).inc()


def _unrouted_endpoint(scope) -> str:
    """The endpoint of a request that no route named: one answered before routing (a body over the cap) is its
    path where a route serves it, a mounted app's file (the docs' assets) is the mount's path, anything else is
    "unknown", so that requests for made-up paths cannot add a metric each."""
    path = scope["path"]
    for route in scope["app"].routes:
        if isinstance(route, Mount) and path.startswith(f"{route.path}/"):
            return route.path
        if getattr(route, "path", None) == path:
            return path
    return "unknown"


def create_app(workspace: Workspace, dataset: Dataset, settings: ServiceSettings = ServiceSettings(),
               service: ListingService | None = None, batcher: type = MicroBatcher) -> FastAPI:
    """The service's application. The scenario's classifier loads at start-up (``/readyz`` says when);
    ``service`` gives one already loaded. ``batcher`` gathers concurrent requests' listings into model calls
    (``MicroBatcher``'s interface; Ray Serve's replicas give their own)."""
    metrics = _Metrics()
    keys = KeyStore(workspace.root / "service-keys.json")
    limiter = RateLimiter(settings.requests_per_second, 2 * settings.requests_per_second)
    state: dict = {"service": service}

    def run_classify(listings):
        results = state["service"].classify(listings)
        for result in results:
            metrics.child(metrics.listings, str(result.needs_review).lower()).inc()
        if (history := state.get("history")) is not None:
            history.add(results)
        return results

    def gathered(service: ListingService):
        how = settings.gathering(service)
        return batcher(run_classify, settings.max_batch, how.wait, on_batch=metrics.batch.observe, calls=how.calls,
                       on_loop=how.on_loop)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if state["service"] is None:  # a served process (a test hands its own classifier and keeps its GC)
            state["service"] = await asyncio.to_thread(ListingService, workspace, dataset, settings.scenario,
                                                       settings.promise)
            # Each request leaves many short-lived objects: with the collector's default thresholds its passes
            # took a seventh of a loaded server's time (profiled). What is loaded by now lives as long as the
            # server, so it is frozen out of the passes, and they come less often.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
        state["history"] = ServiceHistory(state["service"])  # the batch history's record, one per hour
        state["batcher"] = gathered(state["service"])
        yield
        await state["batcher"].close()
        await asyncio.to_thread(state["history"].close)

    # The interactive docs from files shipped with a package (fastapi-swagger), not a CDN: the service
    # may run where nothing outside answers.
    app = FastAPI(title="Vitrine", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Classify marketplace listings, explain the category and advise sellers.",
                  responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut},
                             413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut},
                             503: {"model": ErrorOut}, 504: {"model": ErrorOut}})
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(_BodyLimit, limit=settings.max_body_bytes)

    app.add_middleware(_Measured, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        example = BODY_EXAMPLES.get(request.url.path, BODY_EXAMPLES["/v1/classify"])
        problems = ["The request body is not valid JSON." if e["type"] == "json_invalid" else
                    f"The request body must be a JSON object sent as Content-Type: application/json, e.g. {example}."
                    if e["type"] in ("model_attributes_type", "model_type") and tuple(e["loc"]) == ("body",) else
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: the photo must be its file's bytes encoded as base64"
                    if e["type"] == "string_pattern_mismatch" and e["loc"][-1] == "photo" else
                    f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
        return error(422, "invalid_request", "; ".join(dict.fromkeys(problems))[:2000] or "The request is not valid.")

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException):
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                413: "too_large", 429: "rate_limited", 503: "not_ready", 504: "timeout"}.get(exc.status_code,
                                                                                       "http_error")
        return error(exc.status_code, kind, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(VitrineError)
    async def bad_input(request: Request, exc: VitrineError):
        return error(400, "bad_input", str(exc))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        log.exception("the service failed on %s", request.url.path)
        return error(500, "internal", "The service failed on this request; it is logged on the server.")

    def key_for(request: Request, right: str) -> ApiKey:
        """The request's API key, if valid, holding ``right`` and within its rate; else the 401, 403 or 429."""
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        key = keys.verify(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
        if key is None:
            raise HTTPException(401, "Send a valid API key as 'Authorization: Bearer KEY' (python -m core "
                                     "keys create NAME makes one).", headers={"WWW-Authenticate": "Bearer"})
        if right not in key.rights:
            raise HTTPException(403, f"The key {key.name!r} has no {right!r} right.")
        wait = limiter.take(key.name)
        if wait > 0:
            raise HTTPException(429, f"Too many requests for the key {key.name!r}: retry in {max(wait, 0.1):.1f} s.",
                                headers={"Retry-After": str(max(1, round(wait)))})
        return key

    def allowed(right: str) -> Callable[[Request], Awaitable[ApiKey]]:
        async def check(request: Request) -> ApiKey:
            return key_for(request, right)
        return check

    async def in_time(work: Awaitable):
        try:
            async with asyncio.timeout(settings.timeout_s):  # a timer on this task: no task of its own per request
                return await work
        except TimeoutError:
            raise HTTPException(504, f"The request took over {settings.timeout_s:g} s.") from None

    def ready() -> ListingService:
        if state["service"] is None:
            raise HTTPException(503, "The service is still loading its classifier.")
        return state["service"]

    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI_FILES), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The interactive docs (Swagger UI) of the OpenAPI document."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Vitrine: interactive docs",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")

    @app.get("/healthz")
    async def healthz() -> dict:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict:
        """The classifier is loaded and its stored result found."""
        service = ready()
        return {"status": "ready", "scenario": service.scenario.name, "promise": service.promise}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        """Prometheus metrics: requests, latency, model batch sizes, listings needing review, errors."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def classified(listings: list[Listing], to_review: bool, key: ApiKey) -> Response:
        """``ClassifyOut``'s JSON, written from the results' plain values (they are the model's fields and
        types already): building the models and validating them again was about a twentieth of a request's
        time on the event loop (profiled)."""
        service = ready()
        if to_review and "review" not in key.rights:
            raise HTTPException(403, f"The key {key.name!r} has no 'review' right, which sending to review needs.")
        results = await in_time(state["batcher"].submit(listings))
        out = {"scenario": service.scenario.name, "promise": service.promise,
               "results": [r.as_dict() for r in results], "review_batch": None, "sent_to_review": 0}
        if to_review and any(r.needs_review for r in results):
            sent = await asyncio.to_thread(service.send_to_review, listings, results,
                                           f"service request of {key.name} ({listings[0].id})")
            out["sent_to_review"] = sent.flagged
            out["review_batch"] = sent.batch_id if sent.flagged else None
        return Response(to_json(out), media_type="application/json")  # the bytes FastAPI would write for it

    async def classify(request: Request) -> Response:
        """Classify one listing or several, as ``classify`` does: the category, its confidence, the top 3,
        whether it needs review under the scenario's cut-off, and a status."""
        key = key_for(request, "classify")
        body = _validated(ClassifyIn, request.headers.get("content-type"), await request.body())
        if len(body.listings) > settings.max_listings:  # before any photo is decoded
            raise HTTPException(413, f"At most {settings.max_listings} listings per request; send the rest in "
                                     "another.")
        return await classified([listing.listing() for listing in body.listings], body.to_review, key)

    # Every listing form's request comes here, so its cost per request counts: served by a plain Starlette
    # route, first in the list, which checks the key and validates the body itself (pydantic straight from
    # the bytes). FastAPI's own route solving dependencies cost more of a request than the model did
    # (profiled: 225 against 140 µs a request in process). A FastAPI route kept out of the router documents it.
    app.router.routes.insert(0, _NamedRoute("/v1/classify", classify, methods=["POST"]))
    documented = {ClassifyIn: APIRoute("/v1/classify", classify, methods=["POST"], response_model=ClassifyOut,
                                       openapi_extra=_json_body(ClassifyIn), responses=app.router.responses)}

    @app.post("/v1/classify/upload", response_model=ClassifyOut)
    async def classify_upload(id: str = Form(min_length=1, max_length=200),
                              name: str = Form("", max_length=MAX_TITLE_CHARS),
                              description: str = Form("", max_length=MAX_DESCRIPTION_CHARS),
                              specifications: str = Form("", max_length=MAX_DESCRIPTION_CHARS),
                              photo: UploadFile | None = File(None), to_review: bool = Form(False),
                              key: ApiKey = Depends(allowed("classify"))) -> Response:
        """One listing with its photo as a multipart file."""
        data = None if photo is None else await photo.read(MAX_PHOTO_BYTES + 1)
        if data is not None and len(data) > MAX_PHOTO_BYTES:
            raise HTTPException(413, f"The photo is over {MAX_PHOTO_BYTES // 2**20} MB.")
        return await classified([Listing(id, name, description, specifications, data)], to_review, key)

    @app.post("/v1/explain")
    async def explain(body: ExplainIn, key: ApiKey = Depends(allowed("explain"))) -> ExplainOut:
        """The words with their relevance and, for photo scenarios, the heatmap as a small grid and a PNG."""
        service = ready()
        if body.target is not None and body.target not in service.classes:
            raise VitrineError(f"There is no category {body.target!r}; the categories are: "
                               f"{', '.join(service.classes)}.")
        return ExplainOut(**await in_time(asyncio.to_thread(service.explain, body.listing.listing(), body.target)))

    @app.post("/v1/advice")
    async def advice(body: AdviceIn, key: ApiKey = Depends(allowed("advice"))) -> AdviceOut:
        """Advice on a seller's draft, as structured fields and plain sentences."""
        service = ready()
        found = await in_time(asyncio.to_thread(service.advise, body.listing.listing(), body.category))
        return AdviceOut(**found.as_dict())

    def openapi() -> dict:
        """FastAPI's document of its routes and of the documented ones, with the schemas of the bodies those
        validate themselves."""
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                             routes=[*documented.values(), *app.routes])  # /v1/classify first
            components = app.openapi_schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for model in documented:  # the bodies those routes validate themselves
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, part in {**schema.pop("$defs", {}), model.__name__: schema}.items():
                    schemas.setdefault(name, part)
            components["schemas"] = dict(sorted(schemas.items()))  # in the docs' list, ClassifyIn in its place
            # Every /v1 route checks the key itself (``key_for``): declared here, the docs offer "Authorize" and
            # send the key with "Try it out".
            components["securitySchemes"] = {API_KEY_SCHEME: {
                "type": "http", "scheme": "bearer",
                "description": "An API key: `python -m core keys create NAME` makes one."}}
            for path, operations in app.openapi_schema["paths"].items():
                if path.startswith(KEYED_PREFIX):
                    for operation in operations.values():
                        operation["security"] = [{API_KEY_SCHEME: []}]
        return app.openapi_schema
    app.openapi = openapi
    return app


def app_from_environment() -> FastAPI:
    """The application as ``serve`` runs it in each worker: the workspace, the data version and the settings
    from the environment."""
    workspace = Workspace.from_environment()
    dataset = apply_version(workspace.versions, load_dataset(), selected_version())
    return create_app(workspace, dataset, ServiceSettings.from_environment())
