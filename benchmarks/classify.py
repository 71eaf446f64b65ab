"""End-to-end throughput of ``python -m core classify`` (read, decode, embed, predict, write) on this CPU.

Synthetic batches cycle the reference listings (the shipped sample when the reference data is absent),
with unique ids:
- tfidf on 10,000 and 100,000 listings, each in its own process: listings per second and the
  process's peak memory, so that the difference shows whether memory stays flat;
- clip_a on 256 listings with photos, full-size ViT-B/32 (random weights when the real ones are
  absent: same FLOPs, no accuracy claim), against the embedder alone on the same, already decoded
  listings: decoding runs in worker threads and should hide behind the model;
- with a CUDA GPU, clip_a on 8,192 listings there (fp16, JPEGs decoded on the GPU), against the
  embedder alone on the GPU on the same photos already decoded and sized, and against the GPU path's
  photo decoding alone (which of the two holds the run back).

    .venv/bin/python benchmarks/classify.py [--clip-n 256] [--rows 100000] [--gpu-n 8192]

The last line reads ``tfidf_per_s A clip_per_s B flat_mb C`` (and ``gpu_clip_per_s G`` with a GPU);
targets on a 2-core CPU: A >= 5,000, B >= 0.9 x the embedder's own listings per second (printed
above it), C <= 300; on one H100: G >= 3,000.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import torch
from torchvision.transforms.v2.functional import pil_to_tensor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clip_embed import full_size_clip  # noqa: E402
from timing import best_of_turns, cpu_line  # noqa: E402

from core.locations import REPO_ROOT  # noqa: E402

_CLASSIFY_AND_PEAK = """
import re, sys
from pathlib import Path
from core.cli import main
assert main(["classify", sys.argv[1], "--out", sys.argv[2]]) == 0
print("peak_mb", int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024)
"""


def synthetic_rows(listings: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows cycling the listings, each with its own id."""
    rows = pd.concat([listings] * (n // len(listings) + 1), ignore_index=True).head(n).copy()
    rows["uniq_id"] = [f"{i}-{uid}" for i, uid in enumerate(rows["uniq_id"])]
    return rows


def tfidf_run(listings: pd.DataFrame, n: int, folder: Path, env: dict) -> tuple[float, int]:
    """Listings per second and peak memory (MB) of classifying ``n`` synthetic listings with tfidf."""
    path = folder / f"tfidf-{n}.csv"
    synthetic_rows(listings, n)[["uniq_id", "product_name", "description"]].to_csv(path, index=False)
    run = subprocess.run([sys.executable, "-c", _CLASSIFY_AND_PEAK, str(path), str(folder / f"tfidf-{n}.parquet")],
                         capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    per_second = float(re.search(r"([\d,.]+) listings per second", run.stdout).group(1).replace(",", ""))
    return per_second, int(re.search(r"peak_mb (\d+)", run.stdout).group(1))


def clip_run(listings: pd.DataFrame, n: int, folder: Path, rounds: int, device: str = "cpu") -> dict[str, float]:
    """clip_a listings per second end to end on ``device`` ("end_to_end"), the embedder's own there on the
    same decoded listings ("alone") and, on a GPU, its photo decoding's own ("decoding"): each path's best
    of ``rounds`` turns, taken in alternation."""
    from core.calibration import ReviewThreshold
    from core.classify.batch_input import open_batch
    from core.classify.gpu_photo_decoding import decode_photos_on
    from core.classify.job import GPU_PHOTO_GROUP, GPU_PHOTO_WORKERS, classify_batch
    from core.dataset import load_dataset
    from core.images import open_image, to_square
    from core.runs import fitted_scenario
    from core.scenarios.registry import all_scenarios
    from core.workspace import Workspace

    workspace = Workspace.from_environment()
    scenario = all_scenarios(workspace)["clip_a"]
    trained_on = load_dataset(REPO_ROOT / "assets" / "sample")  # a small train split: the head is not the point
    estimator = fitted_scenario(scenario, trained_on, workspace.results_store()).estimator
    rows = synthetic_rows(listings.dropna(subset=["image_path"]), n)
    (folder / "images").mkdir(parents=True)
    for source in set(rows["image_path"]):
        shutil.copyfile(source, folder / "images" / Path(source).name)
    rows["photo"] = ["images/" + Path(p).name for p in rows["image_path"]]
    path = folder / "clip.csv"
    rows[["uniq_id", "product_name", "description", "photo"]].to_csv(path, index=False)

    on_device = scenario.on_device(device)
    embedder = on_device.embedder()
    decoded = {source: open_image(Path(source)) for source in set(rows["image_path"])}
    if device != "cpu":  # the model alone: photos already squared, sized for it and on the GPU
        decoded = {source: embedder.sized_for_model(pil_to_tensor(to_square(photo)[0]).to(device))
                   for source, photo in decoded.items()}
    photos = [decoded[source] for source in rows["image_path"]]
    texts = [scenario.prepare_text(d) for d in rows["description"]]
    embedder.embed_images(photos[:2])  # warm-up: oneDNN (or CUDA) sets up its kernels once

    def alone() -> None:
        embedder.embed_images(photos)
        embedder.embed_texts(texts)

    def end_to_end() -> None:
        with open_batch(path) as batch:
            classify_batch(batch, scenario, estimator, ReviewThreshold(0.99, None, 0), folder / "clip.parquet",
                           device=device)

    paths = [folder / photo for photo in rows["photo"]]
    decode = decode_photos_on(device, on_device.photo_finisher()) if device != "cpu" else None

    def decoding() -> None:  # the GPU path's photos alone: read, decoded there, squared and sized
        with ThreadPoolExecutor(GPU_PHOTO_WORKERS) as pool:
            list(pool.map(decode, [paths[i:i + GPU_PHOTO_GROUP] for i in range(0, n, GPU_PHOTO_GROUP)]))
        torch.cuda.synchronize()

    turns = {"alone": alone, "end_to_end": end_to_end} | ({"decoding": decoding} if decode else {})
    seconds, _ = best_of_turns(turns, rounds)
    return {name: n / taken for name, taken in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="tfidf listings in the large run (default 100,000)")
    parser.add_argument("--clip-n", type=int, default=256, help="clip_a listings (default 256)")
    parser.add_argument("--gpu-n", type=int, default=8192, help="clip_a listings on a CUDA GPU (default 8,192)")
    parser.add_argument("--rounds", type=int, default=2, help="turns each clip path takes; best kept (default 2)")
    args = parser.parse_args()
    print(cpu_line())
    with tempfile.TemporaryDirectory(prefix="vitrine-bench-") as scratch:
        folder = Path(scratch)
        os.environ["VITRINE_WORK_DIR"] = str(folder / "work")
        from core.dataset import load_dataset

        listings = load_dataset().listings
        print(f"{len(listings)} distinct listings cycled; {os.cpu_count()} cores")
        small, small_peak = tfidf_run(listings, args.rows // 10, folder, dict(os.environ))
        large, large_peak = tfidf_run(listings, args.rows, folder, dict(os.environ))
        print(f"tfidf: {args.rows // 10:,} listings {small:,.0f}/s peak {small_peak} MB; "
              f"{args.rows:,} listings {large:,.0f}/s peak {large_peak} MB")

        models = folder / "clip-model"
        loaded = full_size_clip()
        loaded.model.save_pretrained(models)
        loaded.processor.save_pretrained(models)
        os.environ["VITRINE_CLIP_MODEL"] = str(models)
        cpu = clip_run(listings, args.clip_n, folder / "clip", args.rounds)
        clip_per_s = cpu["end_to_end"]
        print(f"clip_a: {args.clip_n} listings end to end {clip_per_s:.2f}/s; the embedder alone on the same "
              f"decoded listings {cpu['alone']:.2f}/s (ratio {clip_per_s / cpu['alone']:.2f})")
        last = f"tfidf_per_s {large:.0f} clip_per_s {clip_per_s:.2f} flat_mb {large_peak - small_peak}"
        if torch.cuda.is_available():
            gpu = clip_run(listings, args.gpu_n, folder / "gpu", args.rounds, "cuda")
            print(f"clip_a on {torch.cuda.get_device_name()}: {args.gpu_n:,} listings end to end "
                  f"{gpu['end_to_end']:,.0f}/s (fp16, JPEGs decoded on the GPU); the embedder alone there on the "
                  f"same photos, decoded by Pillow beforehand, {gpu['alone']:,.0f}/s; the photos alone, decoded "
                  f"there, {gpu['decoding']:,.0f}/s")
            last += f" gpu_clip_per_s {gpu['end_to_end']:.0f}"
    print(last)


if __name__ == "__main__":
    main()
