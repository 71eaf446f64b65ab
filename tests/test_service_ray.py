"""The service on Ray Serve: the single-process server's answers, Ray Serve's batching, a clean stop."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from core.actions.listing_service import ListingService
from core.dataset import load_dataset
from core.locations import REPO_ROOT
from core.review.batch_history import BatchHistory
from core.service.app import ServiceSettings, create_app
from core.service.keys import KeyStore
from core.workspace import Workspace

pytest.importorskip("ray.serve", reason="Ray Serve is installed by the test command (requirements-scale.txt)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/classify", json.dumps(body).encode(),
                                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _wait_ready(port: int, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(1)
    raise AssertionError("the Ray Serve application never became ready")


def test_ray_serve_answers_as_the_single_process_server_batches_and_stops_on_ctrl_c(small_data_dir):
    workspace = Workspace.from_environment()
    key = KeyStore(workspace.root / "service-keys.json").create("form")
    loaded = ListingService(workspace, load_dataset(), "tfidf")  # trains and stores the classifier the replica loads
    listings = [{"id": r.uniq_id, "name": r.product_name, "description": r.description}
                for r in load_dataset().listings.head(12).itertuples()]
    with TestClient(create_app(workspace, loaded.dataset, ServiceSettings(), loaded)) as local:
        expected = local.post("/v1/classify", json={"listings": listings},
                              headers={"Authorization": f"Bearer {key}"}).json()

    port = _free_port()
    env = {**os.environ, "RAY_ADDRESS": ""}  # a local Ray of its own, whatever the shell points at
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--engine", "ray", "--port", str(port),
                               "--replicas", "1", "--max-wait-ms", "200"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_ready(port, server)
        status, answer = _post(port, key, {"listings": listings})
        assert status == 200 and answer == expected  # the same numbers, bit for bit
        assert _post(port, "vk_wrong", {"listings": listings[:1]})[0] == 401
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda listing: _post(port, key, {"listings": [listing]}), listings * 2))
        assert [a["results"][0] for _, a in answers] == expected["results"] * 2
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
            metrics = page.read().decode()
        calls = float(re.search(r"^vitrine_model_batch_listings_count (\S+)", metrics, re.M).group(1))
        listed = float(re.search(r"^vitrine_model_batch_listings_sum (\S+)", metrics, re.M).group(1))
        assert listed == 12 + 24 and calls < 1 + 24  # the 24 concurrent requests shared model calls
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=90) == 130
        assert "stopped" in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    # The batch history: the local server's hour, then the replica's, written as it stopped.
    assert sorted(r.rows for r in BatchHistory(workspace.review_url).records() if r.source == "service") == [12, 36]
