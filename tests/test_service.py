"""The HTTP service: the same answers as classify, keys, limits, hostile requests, metrics."""
import asyncio
import base64
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from core.actions.listing_service import Listing, ListingService
from core.cli import main
from core.dataset import load_dataset
from core.locations import REPO_ROOT, SAMPLE_DATA_DIR
from core.review.batches import sent_batches
from core.service.app import LOOP_TEXT_CHARS, Gathering, ServiceSettings, create_app
from core.service.batching import MicroBatcher
from core.service.keys import KeyStore
from core.service.limits import RateLimiter
from core.workspace import Workspace
from tests.conftest import Overlap

WATCH = {"id": "w1", "name": "Analog watch", "description": "men analog wrist watch with a leather strap"}


@pytest.fixture
def service(small_data_dir):
    workspace = Workspace.from_environment()
    return workspace, ListingService(workspace, load_dataset(), "tfidf")


def _client(service, **settings) -> tuple[TestClient, str]:
    workspace, loaded = service
    key = KeyStore(workspace.root / "service-keys.json").create("form")
    app = create_app(workspace, loaded.dataset, ServiceSettings(**settings), loaded)
    return TestClient(app, raise_server_exceptions=False), key


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_a_listing_gets_the_numbers_classify_writes_for_it(service, tmp_path):
    client, key = _client(service)
    listings = load_dataset().listings.head(12)
    batch = tmp_path / "batch.csv"
    listings[["uniq_id", "product_name", "description"]].to_csv(batch, index=False)
    assert main(["classify", str(batch), "--out", str(tmp_path / "out.csv")]) == 0
    written = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    body = {"listings": [{"id": r.uniq_id, "name": r.product_name, "description": r.description}
                         for r in listings.itertuples()]}
    with client:
        answer = client.post("/v1/classify", json=body, headers=_auth(key))
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["id"] for r in results] == written["id"].tolist()
    assert [r["confidence"] for r in results] == written["confidence"].tolist()  # the same floats, bit for bit
    assert [r["predicted"] for r in results] == written["predicted"].tolist()
    assert [r["needs_review"] for r in results] == written["needs_review"].tolist()
    assert [r["top"][1]["probability"] for r in results] == written["top_2_probability"].tolist()


def test_keys_are_needed_and_rights_are_checked(service):
    workspace, _ = service
    client, key = _client(service)
    store = KeyStore(workspace.root / "service-keys.json")
    classify_only = store.create("classifier", ("classify",))
    with client:
        assert client.post("/v1/classify", json={"listings": [WATCH]}).status_code == 401
        wrong = client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth("vk_not-a-key"))
        assert wrong.status_code == 401 and wrong.json()["error"]["kind"] == "unauthorized"
        assert client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth(classify_only)).status_code == 200
        refused = client.post("/v1/explain", json={"listing": WATCH}, headers=_auth(classify_only))
        assert refused.status_code == 403 and "no 'explain' right" in refused.json()["error"]["message"]
        store.revoke("classifier")
        assert client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth(classify_only)).status_code == 401
    assert key not in (workspace.root / "service-keys.json").read_text()  # only its hash is stored


def test_to_review_sends_the_flagged_listings_with_their_photos_to_the_operators_queue(service):
    workspace, _ = service
    client, key = _client(service)
    no_review = KeyStore(workspace.root / "service-keys.json").create("shop", ("classify",))
    png = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(png, format="PNG")
    vague = {"id": "v1", "name": "Thing", "description": "a nice thing",
             "photo": base64.b64encode(png.getvalue()).decode()}
    with client:
        sent = client.post("/v1/classify", json={"listings": [WATCH, vague], "to_review": True}, headers=_auth(key))
        refused = client.post("/v1/classify", json={"listings": [vague], "to_review": True}, headers=_auth(no_review))
        kept = client.post("/v1/classify", json={"listings": [vague]}, headers=_auth(key))
        upload = client.post("/v1/classify/upload", headers=_auth(key),
                             data={"id": "v2", "description": "a nice thing", "to_review": "true"},
                             files={"photo": ("p.png", png.getvalue(), "image/png")})
    answer = sent.json()
    flagged = [r["id"] for r in answer["results"] if r["needs_review"]]
    assert "v1" in flagged and answer["sent_to_review"] == len(flagged) and answer["review_batch"]
    [batch] = [b for b in sent_batches(workspace.batches) if b.batch_id == answer["review_batch"]]
    table = batch.table().set_index("id")
    assert table.index.tolist() == flagged and table.at["v1", "description"] == "a nice thing"
    assert batch.photo(table.at["v1", "photo"]).size == (64, 48)  # the operator sees the photo the request sent
    assert batch.scenario == "tfidf" and "form" in batch.name
    assert refused.status_code == 403 and "'review' right" in refused.json()["error"]["message"]
    assert kept.json()["review_batch"] is None and kept.json()["results"][0]["needs_review"]  # not asked: not sent
    assert upload.json()["sent_to_review"] == 1
    assert len(sent_batches(workspace.batches)) == 2


def test_hostile_requests_get_a_4xx_json_error_and_the_server_goes_on(service):
    client, key = _client(service, max_body_bytes=2**20)
    bomb = io.BytesIO()
    Image.new("L", (20_000, 20_000)).save(bomb, format="PNG")  # 400 megapixels in a few hundred KB
    cases = {
        "malformed JSON": dict(content=b"{not json", headers={"Content-Type": "application/json"}),
        "wrong types": dict(json={"listings": [{"id": 3, "description": ["a"]}]}),
        "unknown field": dict(json={"listings": [WATCH | {"price": 3}]}),
        "no listing": dict(json={"listings": []}),
        "a description of 10 MB": dict(json={"listings": [WATCH | {"description": "x" * 10_000_000}]}),
        "a body over the cap": dict(content=b"{" + b" " * (2 * 2**20) + b"}",
                                    headers={"Content-Type": "application/json"}),
        "photo not base64": dict(json={"listings": [WATCH | {"photo": "%%%"}]}),
        "more listings than a request takes": dict(json={"listings": [WATCH] * 257}),
    }
    with client:
        for case, request in cases.items():
            request.setdefault("headers", {}).update(_auth(key))
            answer = client.post("/v1/classify", **request)
            assert 400 <= answer.status_code < 500, case
            assert set(answer.json()["error"]) == {"kind", "message"} and "Traceback" not in answer.text, case
        # A photo bomb or a zip sent as a photo costs the photo, not the listing: tfidf reads the text.
        for photo in (bomb.getvalue(), b"PK\x03\x04 a zip, not a photo"):
            answer = client.post("/v1/classify", json={"listings": [WATCH | {
                "photo": base64.b64encode(photo).decode()}]}, headers=_auth(key))
            assert answer.status_code == 200 and answer.json()["results"][0]["predicted"] == "Watches"
        not_base64 = client.post("/v1/classify", json={"listings": [WATCH | {"photo": "%%%"}]}, headers=_auth(key))
        assert not_base64.json()["error"]["message"] == \
            "listings.0.photo: the photo must be its file's bytes encoded as base64"
        plain = client.post("/v1/classify", content=b"classify my watch", headers=_auth(key))
        assert plain.status_code == 422 and "must be a JSON object sent as Content-Type: application/json" in \
            plain.json()["error"]["message"]
        explained = client.post("/v1/explain", content=b"explain my watch", headers=_auth(key))
        assert '{"listing": {"id": "1"' in explained.json()["error"]["message"]  # its own body's example
        assert client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth(key)).status_code == 200


def test_a_key_over_its_rate_is_told_when_to_come_back(service):
    client, key = _client(service, requests_per_second=1.0)
    with client:
        codes = [client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth(key)) for _ in range(4)]
    assert [c.status_code for c in codes[:2]] == [200, 200]  # a burst of 2 passes
    assert codes[-1].status_code == 429 and int(codes[-1].headers["Retry-After"]) >= 1


def test_explain_and_advice_answer_in_words_and_fields(service):
    client, key = _client(service)
    with client:
        explained = client.post("/v1/explain", json={"listing": WATCH}, headers=_auth(key)).json()
        advice = client.post("/v1/advice", json={"listing": WATCH, "category": "Baby Care"}, headers=_auth(key))
        unknown = client.post("/v1/advice", json={"listing": WATCH, "category": "Spaceships"}, headers=_auth(key))
    assert explained["predicted"] == "Watches" and explained["heatmap"] is None  # tfidf reads no photo
    assert {w["word"] for w in explained["words"]} >= {"analog", "watch"}
    found = advice.json()
    assert found["agrees"] is False and found["predicted"] == "Watches"
    assert "You chose Baby Care, but Vitrine would file it under Watches." in found["sentences"]
    assert "watch" in found["pulling_words"] or "analog" in found["pulling_words"]
    assert unknown.status_code == 400 and "There is no category 'Spaceships'" in unknown.json()["error"]["message"]


def test_health_readiness_metrics_and_the_openapi_document(service):
    client, key = _client(service)
    with client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["scenario"] == "tfidf"
        # 30 listings cannot show a 99 % promise: the service says every listing goes to review, as classify does
        assert ready["promise"].endswith("no cut-off could be shown to keep it on this data, so every listing "
                                         "needs review")
        client.post("/v1/classify", json={"listings": [WATCH, WATCH | {"id": "w2"}]}, headers=_auth(key))
        metrics = client.get("/metrics").text
        document = client.get("/openapi.json").json()
    assert 'vitrine_requests_total{endpoint="/v1/classify",status="200"} 1.0' in metrics
    assert "vitrine_model_batch_listings_count 1.0" in metrics and "vitrine_listings_total" in metrics
    assert {"/v1/classify", "/v1/explain", "/v1/advice", "/healthz", "/readyz"} <= set(document["paths"])
    # the key the /v1 routes ask for is declared, so that a generated client or the docs can send it
    assert document["components"]["securitySchemes"]["APIKey"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "description": ""}
    keyed = {path for path, operations in document["paths"].items()
             if all(operation.get("security") == [{"APIKey": []}] for operation in operations.values())}
    assert keyed == {path for path in document["paths"] if path.startswith("/v1/")}


def test_cors_only_for_the_configured_origins(service):
    client, _ = _client(service, cors_origins=("https://sell.example",))
    with client:
        allowed = client.options("/v1/classify", headers={"Origin": "https://sell.example",
                                                          "Access-Control-Request-Method": "POST"})
        other = client.options("/v1/classify", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("access-control-allow-origin") == "https://sell.example"
    assert "access-control-allow-origin" not in other.headers


def test_a_request_past_its_timeout_gets_504(service, monkeypatch):
    workspace, loaded = service
    monkeypatch.setattr(loaded, "classify", lambda listings: time.sleep(1.0) or [])
    client, key = _client(service, timeout_s=0.2)
    with client:
        answer = client.post("/v1/classify", json={"listings": [WATCH]}, headers=_auth(key))
    assert answer.status_code == 504 and answer.json()["error"]["message"] == "The request took over 0.2 s."


def test_concurrent_listings_share_model_calls():
    calls = []

    def run(items):
        calls.append(len(items))
        time.sleep(0.01)
        return [item * 2 for item in items]

    async def clients():
        batcher = MicroBatcher(run, max_batch=8, max_wait=0.02)
        answers = await asyncio.gather(*(batcher.submit([i]) for i in range(16)))
        await batcher.close()
        return answers

    assert asyncio.run(clients()) == [[i * 2] for i in range(16)]
    assert sum(calls) == 16 and len(calls) <= 4 and max(calls) <= 8


@pytest.mark.parametrize("calls", [1, 2])
def test_model_calls_run_side_by_side_up_to_their_number(calls):
    overlap = Overlap()

    def run(items):
        with overlap.held():
            return [item + 1 for item in items]

    async def clients():
        batcher = MicroBatcher(run, max_batch=2, calls=calls)
        answers = await asyncio.gather(*(batcher.submit([i]) for i in range(8)))
        await batcher.close()
        return answers

    assert asyncio.run(clients()) == [[i + 1] for i in range(8)]
    assert overlap.most == calls


def test_listings_waiting_together_are_shared_among_the_free_calls():
    overlap, sizes = Overlap(), []

    def run(items):
        sizes.append(len(items))
        with overlap.held():
            return [item + 1 for item in items]

    async def clients():
        batcher = MicroBatcher(run, max_batch=32, calls=2)
        answers = await asyncio.gather(*(batcher.submit([i]) for i in range(8)))
        await batcher.close()
        return answers

    assert asyncio.run(clients()) == [[i + 1] for i in range(8)]
    assert sizes == [4, 4] and overlap.most == 2  # not one call of 8 with the other core idle


def test_short_calls_of_a_python_model_run_on_the_event_loop_and_long_ones_in_a_thread():
    threads = []

    def run(items):
        threads.append(threading.current_thread())
        return [len(item.description) for item in items]

    async def clients(descriptions):
        how = Gathering(1, 0.0, loop_text_chars=100)
        batcher = MicroBatcher(run, max_batch=8, on_loop=how.on_loop)
        answers = await asyncio.gather(*(batcher.submit([Listing(str(i), description=d)])
                                         for i, d in enumerate(descriptions)))
        await batcher.close()
        return answers

    assert asyncio.run(clients(["a" * 10] * 4)) == [[10]] * 4
    assert set(threads) == {threading.main_thread()}
    threads.clear()
    assert asyncio.run(clients(["a" * 60] * 4)) == [[60]] * 4  # 240 characters gathered: over the 100
    assert threading.main_thread() not in threads
    assert not Gathering(1, 0.0).on_loop([Listing("1")])  # no budget: always a thread


def test_clip_on_the_cpu_gathers_calls_per_compute_stream_and_tfidf_one_at_a_time():
    from core.embeddings.streams import compute_streams
    from core.scenarios.clip import ClipScenario
    from core.scenarios.tfidf import TfidfScenario

    def served(scenario, device="cpu"):
        return SimpleNamespace(scenario=scenario, device=device)

    clip = ClipScenario.__new__(ClipScenario)
    assert ServiceSettings().gathering(served(TfidfScenario())) == (1, 0.0, LOOP_TEXT_CHARS)
    assert ServiceSettings().gathering(served(clip)) == (compute_streams().count, 0.005, 0)
    assert ServiceSettings().gathering(served(clip, "cuda")) == (1, 0.0, 0)
    assert ServiceSettings(model_calls=3, max_wait_ms=0).gathering(served(clip)) == (3, 0.0, 0)
    assert ServiceSettings.from_environment() == ServiceSettings()  # unset: chosen per scenario, as by default
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VITRINE_SERVICE_MODEL_CALLS", "3")
        env.setenv("VITRINE_SERVICE_MAX_WAIT_MS", "0")
        assert ServiceSettings.from_environment().gathering(served(clip)) == (3, 0.0, 0)


_TFIDF_SERVICE = """
import sys
from fastapi.testclient import TestClient
from core.actions.listing_service import Listing, ListingService
from core.dataset import load_dataset
from core.service.app import ServiceSettings, create_app
from core.service.keys import KeyStore
from core.workspace import Workspace
workspace = Workspace.from_environment()
key = KeyStore(workspace.root / "service-keys.json").create("form")
service = ListingService(workspace, load_dataset(), "tfidf")
with TestClient(create_app(workspace, service.dataset, ServiceSettings(), service)) as client:
    answer = client.post("/v1/classify", json={"listings": [{"id": "a", "description": "analog watch"}]},
                         headers={"Authorization": f"Bearer {key}"})
print(answer.status_code, "torch" in sys.modules)
"""


def test_a_tfidf_service_never_loads_torch(small_data_dir):
    # Half a gigabyte in every worker process, for a model that does not use it.
    run = subprocess.run([sys.executable, "-c", _TFIDF_SERVICE], capture_output=True, text=True, cwd=REPO_ROOT,
                         check=True)
    assert run.stdout.split()[-2:] == ["200", "False"]


def test_the_rate_limiter_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2.0, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.take("k") == 0.0 and limiter.take("other") == 0.0


def test_keys_from_the_command_line(small_data_dir, capsys):
    assert main(["keys", "create", "shop-1", "--rights", "classify,advice"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("vk_") and len(secret) > 40
    assert main(["keys", "list"]) == 0 and capsys.readouterr().out.startswith("shop-1\tclassify,advice\tcreated ")
    assert main(["keys", "create", "shop-1"]) == 3 and "exists already" in capsys.readouterr().err
    assert main(["keys", "create", "shop 1; rm"]) == 3
    assert main(["keys", "revoke", "shop-1"]) == 0 and main(["keys", "list"]) == 0
    assert json.dumps(capsys.readouterr().out).count("shop-1") == 1  # only the revoke line names it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _console_blocks(text: str) -> list[list[str]]:
    """The lines of each ```console block of a docs page: commands that need a running service, which
    tests/test_docs.py does not run (it runs the ```bash ones)."""
    return [[line for line in block.splitlines() if line.strip()]
            for block in re.findall(r"^```console\n(.*?)^```", text, flags=re.S | re.M)]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (make test installs it)")
def test_the_service_page_serves_and_answers_its_own_examples():
    """docs/service.md as a reader of a fresh clone follows it (the shipped sample): a key, the service
    started as shown, each curl example."""
    [serve], examples = _console_blocks((REPO_ROOT / "docs" / "service.md").read_text(encoding="utf-8"))
    port = str(_free_port())
    env = os.environ | {"VITRINE_DATA_DIR": str(SAMPLE_DATA_DIR)}
    key = subprocess.run([sys.executable, "-m", "core", "keys", "create", "docs"], capture_output=True, text=True,
                         env=env, cwd=REPO_ROOT, check=True).stdout.strip().splitlines()[-1]
    command = shlex.split(serve.replace("--port 8000", f"--port {port}"))
    server = subprocess.Popen([sys.executable, *command[1:]], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the service never became ready")
        for line in examples:
            line = line.replace("localhost:8000", f"127.0.0.1:{port}")
            done = subprocess.run(["bash", "-c", line + " -w '\\n%{http_code}'"], capture_output=True, text=True,
                                  env=env | {"KEY": key}, cwd=REPO_ROOT, timeout=60)
            body, _, status = done.stdout.rpartition("\n")
            assert status == "200", (line, done.stdout)
            if "/metrics" not in line:
                assert "error" not in json.loads(body), line
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_interactive_docs_need_nothing_from_outside(service):
    client, _ = _client(service)
    with client:
        page = client.get("/docs").text
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
        fetched = [client.get(asset) for asset in assets if asset]
        metrics = client.get("/metrics").text
    assert "/docs-assets/swagger-ui-bundle.js" in assets and "/openapi.json" in page
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    assert all(answer.status_code == 200 for answer in fetched)
    # the assets count under their folder, not as "unknown" (kept for made-up paths)
    assert f'vitrine_requests_total{{endpoint="/docs-assets",status="200"}} {len(fetched)}.0' in metrics
    assert 'endpoint="unknown"' not in metrics


@pytest.mark.skipif(shutil.which("ps") is None, reason="needs ps to find the workers")
def test_a_worker_killed_under_load_is_replaced_and_the_service_answers_again(small_data_dir):
    env = os.environ.copy()
    key = subprocess.run([sys.executable, "-m", "core", "keys", "create", "load"], capture_output=True, text=True,
                         env=env, cwd=REPO_ROOT, check=True).stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port), "--workers", "2"],
                              cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(address + "/v1/classify", data=json.dumps({"listings": [WATCH]}).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    def workers() -> set[int]:
        """The worker processes uvicorn started (not multiprocessing's resource tracker beside them)."""
        listed = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(server.pid)], capture_output=True,
                                text=True)
        return {int(line.split()[0]) for line in listed.stdout.splitlines() if "spawn_main" in line}

    def answered() -> bool:
        try:
            return urllib.request.urlopen(request, timeout=5).status == 200
        except OSError:
            return False
    try:
        deadline = time.monotonic() + 90
        while not (len(workers()) == 2 and answered()) and time.monotonic() < deadline:
            time.sleep(0.5)
        first = workers()
        assert len(first) == 2 and answered()
        victim = min(first)
        os.kill(victim, 9)  # mid-load: requests keep coming while it dies
        outcomes = [answered() for _ in range(20)]
        while (len(workers()) < 2 or victim in workers()) and time.monotonic() < deadline + 60:
            time.sleep(0.5)
        assert victim not in workers() and len(workers()) == 2  # a new worker took its place
        assert sum(outcomes) >= 10  # the other worker kept answering meanwhile
        assert all(answered() for _ in range(10))
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_body_past_the_cap_is_refused_with_or_without_a_length_and_counted_under_its_endpoint(service):
    client, key = _client(service, max_body_bytes=2**20)

    def chunks():
        yield b'{"listings": [{"id": "a", "description": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}]}'
    json_body = _auth(key) | {"Content-Type": "application/json"}
    with client:
        streamed = client.post("/v1/classify", content=chunks(), headers=json_body)
        declared = client.post("/v1/explain", content=b"x" * (2**20 + 1), headers=json_body)
        made_up = client.post("/v1/nowhere", content=b"x" * (2**20 + 1), headers=json_body)
        for answer in (streamed, declared, made_up):
            assert answer.status_code == 413 and answer.json()["error"]["kind"] == "too_large"
        assert client.get("/healthz").status_code == 200
        metrics = client.get("/metrics").text
    assert 'vitrine_requests_total{endpoint="/v1/classify",status="413"} 1.0' in metrics
    assert 'vitrine_requests_total{endpoint="/v1/explain",status="413"} 1.0' in metrics
    assert 'vitrine_requests_total{endpoint="unknown",status="413"} 1.0' in metrics and "/v1/nowhere" not in metrics
    assert 'vitrine_errors_total{status="413"} 3.0' in metrics


@pytest.mark.parametrize(("command", "said"), [
    ("serve --port 99999", "a port is a whole number from 1 to 65535, not '99999'"),
    # a batcher with no call, or calls of no listing, would leave every request waiting for its timeout
    ("serve --model-calls 0", "the number of model calls at once is a whole number, at least 1, not '0'"),
    ("serve --model-calls two", "the number of model calls at once is a whole number, at least 1, not 'two'"),
    ("serve --max-batch -1", "the size of a model call is a whole number, at least 1, not '-1'"),
    ("serve --workers 0", "the number of worker processes is a whole number, at least 1, not '0'"),
    ("serve --replicas 1.5", "the number of replicas is a whole number, at least 1, not '1.5'"),
    # a rate or a timeout of 0 would refuse every request
    ("serve --rate 0", "a rate (requests per second) is a number above 0, not '0'"),
    ("serve --rate nan", "a rate (requests per second) is a number above 0, not 'nan'"),
    ("serve --timeout -3", "a timeout (seconds) is a number above 0, not '-3'"),
    ("serve --max-wait-ms -1", "a wait (milliseconds) is a number 0 or more, not '-1'"),
    ("labels issues --top 0", "the number of rows is a whole number, at least 1, not '0'"),
])
def test_a_count_or_rate_that_could_never_work_is_refused_in_one_line(command, said, small_data_dir, capsys):
    with pytest.raises(SystemExit) as refused:
        main(command.split())
    error = capsys.readouterr().err
    assert refused.value.code == 2 and error.count("\n") == 1  # one line, not argparse's usage block first
    assert error == (f"python -m core {' '.join(command.split()[:-2])}: error: argument {command.split()[-2]}: {said} "
                     f"(python -m core {' '.join(command.split()[:-2])} --help lists the options)\n")


def test_serve_refuses_a_port_another_program_holds_or_a_wrong_host_in_one_line(small_data_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1])]) == 3
    said = capsys.readouterr().err
    assert said.count("error:") == 1 and "another program may hold the port; pick another with --port" in said
    for host in ("999.1.1.1", "nosuchhost.invalid"):  # the host is wrong, not the port: say so
        assert main(["serve", "--host", host]) == 3
        said = capsys.readouterr().err
        assert said.count("error:") == 1 and f"Cannot listen on '{host}': it is not an address of this machine" in said
        assert "--port" not in said
