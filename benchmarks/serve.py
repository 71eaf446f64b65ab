"""The HTTP service under load, on this machine: ``python -m core serve`` driven by ``wrk`` (Debian's
package; installed here when missing and the script may, else it says so).

- A: the same server stack answering a constant JSON (``/healthz``): the stack's own ceiling here;
- B: tfidf ``/v1/classify``, one listing per request, at saturation (wrk, 32 connections); A and B are
  measured in turns (``--rounds``, 3 by default) and each is the median of its rounds, so that a neighbour's
  load on this shared machine falls on both, not on one;
- C: tfidf p99 latency at half of B's rate (8 connections, each pausing between its requests; wrk2's
  open loop is not packaged, so a slow answer can delay the next request of its connection);
- D: clip_a ``/v1/classify`` with a photo per request, at saturation, 16 connections (full-size
  ViT-B/32, random weights where the real ones are absent: the same work, no accuracy claim);
- E: D over the same with micro-batching off (``--max-batch 1``): the gain of gathering requests;
- F: ``classify``'s clip_a listings per second on the same photos, in the same run;
- with ``--soak S``: tfidf held at half of B's rate for S seconds, the server's memory before and after.

    .venv/bin/python benchmarks/serve.py [--seconds 10] [--rounds 3] [--clip-n 128] [--skip-clip] [--soak 600]

Last line: ``bare_rps A tfidf_rps B tfidf_p99_ms C clip_rps D clip_batch_gain E clip_classify_per_s F``.
Targets (issue 24): B >= 0.5 A, C <= 50 ms, D >= 0.8 F, E >= 1.5 on the CPU.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import cpu_line  # noqa: E402

from core.locations import REPO_ROOT, SAMPLE_DATA_DIR  # noqa: E402

LISTING = {"id": "b1", "name": "Analog watch", "description": "men analog wrist watch with a leather strap"}


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package when it is missing and this process may."""
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=os.environ | {
            "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
        return shutil.which("wrk")
    raise SystemExit("benchmarks/serve.py needs wrk: install Debian's wrk package (apt-get install wrk).")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def resident_mb(pid: int) -> float:
    """The memory the serving process holds (resident set), in MB; not the joblib workers its first start
    trained with, which leave on their own."""
    listed = subprocess.run(["ps", "-o", "rss=", "--pid", str(pid)], capture_output=True, text=True).stdout
    return int(listed.split()[0]) / 1024


@contextmanager
def served(env: dict, scenario: str, max_batch: int = 32):
    """``python -m core serve`` on a free port, until the block ends; its address and process id."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")  # not a pipe: a pipe nobody reads would stop the server once full
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--scenario", scenario, "--port", str(port),
                               "--rate", "1000000", "--timeout", "120", "--max-batch", str(max_batch)],
                              cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    address = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):  # a first start trains the scenario (clip_a embeds the data set's photos)
            try:
                if urllib.request.urlopen(address + "/readyz", timeout=1).status == 200:
                    break
            except OSError:
                if server.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"the service stopped: {log.read()[-2000:]}") from None
                time.sleep(0.5)
        yield address, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def wrk(binary: str, url: str, seconds: int, connections: int, body: dict | None = None,
        key: str = "", rate: float | None = None) -> dict[str, float]:
    """wrk's requests per second and p99 latency (ms) against ``url`` (a POST of ``body`` when given); with
    ``rate``, each connection waits between its requests so that all together send about that many a second."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
                         f'wrk.headers["Content-Type"] = "application/json"\n'
                         f'wrk.headers["Authorization"] = "Bearer {key}"\n')
        if rate is not None:
            script.write(f"function delay() return {1000 * connections / rate:.3f} end\n")
    try:
        # A long timeout: one CLIP listing at a time, 16 requests queued wait longer than wrk's default 2 s.
        out = subprocess.run([binary, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "60s",
                              "--latency", "-s", script.name, url], capture_output=True, text=True, check=True).stdout
    finally:
        os.remove(script.name)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk got {errors.group(1)} error answers from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    return {"rps": rps, "p99_ms": float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]}


def classify_per_second(env: dict, rows: list[dict], folder: Path) -> float:
    """``classify``'s clip_a listings per second on these rows, as its summary says."""
    import pandas as pd

    path = folder / "batch.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = subprocess.run([sys.executable, "-m", "core", "classify", str(path), "--scenario", "clip_a", "--out",
                          str(folder / "batch.parquet")], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"([\d,.]+) listings per second", out).group(1).replace(",", ""))


def warm_up(address: str, body: dict, key: str) -> None:
    """One request answered before the load: CLIP's model loads on the first (seconds, not the service's pace)."""
    request = urllib.request.Request(address + "/v1/classify", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    urllib.request.urlopen(request, timeout=300).read()


def create_key(env: dict) -> str:
    return subprocess.run([sys.executable, "-m", "core", "keys", "create", "bench"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]


def clip_part(binary: str, env: dict, key: str, args, folder: Path) -> tuple[float, float, float]:
    """D, E and F: clip_a with photos through the service (batching on and off) and through classify."""
    from clip_embed import full_size_clip

    model = folder / "clip-model"
    loaded = full_size_clip()
    loaded.model.save_pretrained(model)
    loaded.processor.save_pretrained(model)
    # The sample's photos: its train split trains the head (the head is not the point), quickly.
    env = env | {"VITRINE_CLIP_MODEL": str(model), "VITRINE_DATA_DIR": str(SAMPLE_DATA_DIR)}
    photos = sorted((SAMPLE_DATA_DIR / "images").glob("*.jpg"))
    body = {"listings": [LISTING | {"photo": base64.b64encode(photos[0].read_bytes()).decode()}]}
    with served(env, "clip_a") as (address, _):
        warm_up(address, body, key)
        batched = wrk(binary, address + "/v1/classify", max(args.seconds, 10), 16, body, key)["rps"]
    with served(env, "clip_a", max_batch=1) as (address, _):
        warm_up(address, body, key)
        single = wrk(binary, address + "/v1/classify", max(args.seconds, 10), 16, body, key)["rps"]
    (folder / "images").mkdir()
    rows = []
    for i in range(args.clip_n):
        photo = photos[i % len(photos)]
        shutil.copyfile(photo, folder / "images" / photo.name)
        rows.append(LISTING | {"id": f"b{i}", "photo": f"images/{photo.name}"})
    per_second = classify_per_second(env, rows, folder)
    print(f"clip_a: {batched:,.1f} requests/s with micro-batching, {single:,.1f}/s with one listing per model "
          f"call (16 clients); classify {per_second:,.1f} listings/s on {args.clip_n} listings")
    return batched, batched / single, per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="each load's duration (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of A then B, each the median of its turns "
                        "(default 3)")
    parser.add_argument("--clip-n", type=int, default=512,
                        help="listings classify runs for F (default 512: its model load is part of its time)")
    parser.add_argument("--skip-clip", action="store_true", help="tfidf only (A, B, C)")
    parser.add_argument("--soak", type=int, default=0,
                        help="also hold tfidf at half its saturation rate for this many seconds and compare the "
                        "server's memory before and after (600 for the issue's 10-minute soak)")
    args = parser.parse_args()
    print(cpu_line())
    binary = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="vitrine-serve-") as scratch:
        folder = Path(scratch)
        env = os.environ | {"VITRINE_WORK_DIR": str(folder / "work")}
        key = create_key(env)
        with served(env, "tfidf") as (address, pid):
            turns = [(wrk(binary, address + "/healthz", args.seconds, 32)["rps"],
                      wrk(binary, address + "/v1/classify", args.seconds, 32, {"listings": [LISTING]}, key)["rps"])
                     for _ in range(args.rounds)]
            print("turns (A, B requests/s): " + "; ".join(f"{a:,.0f}, {b:,.0f}" for a, b in turns))
            bare, tfidf = statistics.median(a for a, _ in turns), statistics.median(b for _, b in turns)
            # Half of B's rate: 8 connections, each pausing between requests (the pause is not in the latency).
            p99 = wrk(binary, address + "/v1/classify", args.seconds, 8, {"listings": [LISTING]}, key,
                      rate=tfidf / 2)["p99_ms"]
            if args.soak:
                before = resident_mb(pid)  # after the loads above: a warm server
                soaked = wrk(binary, address + "/v1/classify", args.soak, 8, {"listings": [LISTING]}, key,
                             rate=tfidf / 2)
                after = resident_mb(pid)
                print(f"soak: {args.soak} s at {tfidf / 2:,.0f} requests/s (p99 {soaked['p99_ms']:.1f} ms): "
                      f"{before:,.0f} MB before, {after:,.0f} MB after ({after / before - 1:+.1%}; target < +10%)")
        print(f"constant JSON {bare:,.0f} requests/s; tfidf classify {tfidf:,.0f}/s at saturation "
              f"(ratio {tfidf / bare:.2f}), p99 {p99:.1f} ms at {tfidf / 2:,.0f}/s")
        last = f"bare_rps {bare:.0f} tfidf_rps {tfidf:.0f} tfidf_p99_ms {p99:.1f}"
        if not args.skip_clip:
            clip_rps, gain, per_second = clip_part(binary, env, key, args, folder)
            last += f" clip_rps {clip_rps:.1f} clip_batch_gain {gain:.2f} clip_classify_per_s {per_second:.1f}"
    print(last)


if __name__ == "__main__":
    main()
