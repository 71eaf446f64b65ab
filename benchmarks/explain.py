"""Explanation cost on this CPU, on the full-size ViT-B/32 architecture (the real weights when they
are in the models folder, else random ones: same FLOPs, meaningless maps).

Times, for one listing (photo + description from the reference data): a plain inference forward
pass of both encoders, the naive explanation (one autograd call per attention layer) and the
project's (one autograd call for all layers). Then, for ``--batch`` listings, the project's
explanation one listing at a time against one batched pass for all of them (what the misclassified
page and the keyword guide run).

    .venv/bin/python benchmarks/explain.py [--rounds 3]

The three take turns for a few rounds after a warm-up, and each keeps its best time (``timing.py``).
The last line reads ``vs_naive A vs_forward B batched C``: A = naive time / project time, B = project
time / plain forward time, C = time one at a time / batched time for the same listings.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clip_embed import full_size_clip  # noqa: E402
from timing import best_of_turns, cpu_line  # noqa: E402

from core.dataset import load_dataset  # noqa: E402
from core.explain.clip_relevance import ClassHead, ClipRelevance  # noqa: E402
from core.images import open_image  # noqa: E402
from core.text import model_a_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns each takes; best time kept (default 3)")
    parser.add_argument("--batch", type=int, default=4, help="listings explained in one batch (default 4)")
    args = parser.parse_args()
    print(cpu_line())

    sample = load_dataset().listings.dropna(subset=["image_path"]).sample(n=args.batch, random_state=0)
    listings = [(open_image(Path(row["image_path"])), row["description"]) for _, row in sample.iterrows()]
    photo, description = listings[0]
    loaded = full_size_clip()
    dimension = loaded.model.config.projection_dim
    rng = np.random.default_rng(0)
    head = ClassHead(rng.normal(size=(7, dimension)), rng.normal(size=(7, dimension)), np.zeros(7),
                     [f"class {i}" for i in range(7)])
    clip = ClipRelevance(loaded.model, loaded.processor, head, model_a_text)

    def forward() -> None:
        with torch.inference_mode():
            clip.image_embedding(clip.pixels(photo))
            clip.text_embedding([description])

    calls = {"plain": forward,
             "naive": lambda: clip.relevance([(photo, description)], per_layer_gradients=True),
             "project": lambda: clip.relevance([(photo, description)])}
    for call in calls.values():
        call()  # warm-up
    calls["one at a time"] = lambda: [clip.relevance([listing]) for listing in listings]
    calls["batched"] = lambda: clip.relevance(listings)
    for name in ("one at a time", "batched"):
        calls[name]()  # warm-up
    seconds, _ = best_of_turns(calls, args.rounds)
    plain, naive, project = seconds["plain"], seconds["naive"], seconds["project"]
    alone, batched = seconds["one at a time"], seconds["batched"]
    print(f"plain forward {plain:.3f} s, naive explanation {naive:.3f} s, project explanation {project:.3f} s")
    print(f"{args.batch} listings: {alone:.3f} s one at a time, {batched:.3f} s batched "
          f"({batched / args.batch:.3f} s a listing)")
    print(f"vs_naive {naive / project:.2f} vs_forward {project / plain:.2f} batched {alone / batched:.2f}")


if __name__ == "__main__":
    main()
