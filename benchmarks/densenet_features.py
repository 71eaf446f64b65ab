"""DenseNet121 feature-extraction throughput on this CPU: the plain fp32 loop against Vitrine's path.

Both extract the pooled 1024-d features of the same N photos (a seeded random sample of the
reference data, decoded and squared the same way) with the full-size DenseNet121: the real
ImageNet weights when they are in the models folder, else random weights (same FLOPs).

    .venv/bin/python benchmarks/densenet_features.py [-n 64] [--rounds 3]

The two paths take turns for a few rounds and each keeps its best time (``timing.py``). The last
line reads ``ratio R`` (project speed / plain speed); the line before it gives the largest
difference between the two feature sets.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_of_turns, cpu_line  # noqa: E402

from core.dataset import load_dataset  # noqa: E402
from core.images import open_image  # noqa: E402
from core.models.densenet import (  # noqa: E402
    FastFeatureExtractor,
    densenet_available,
    imagenet_tensor,
    load_densenet,
    pooled_features,
)
from core.workspace import Workspace  # noqa: E402

# A notebook's usual batch; the project picks its own (FastFeatureExtractor.batch_size).
BATCH = 32


def full_size_densenet() -> torch.nn.Module:
    workspace = Workspace.from_environment()
    if densenet_available(workspace.models):
        print("weights: DenseNet121 ImageNet (real)")
        return load_densenet(workspace.models, workspace.cache).model
    from torchvision.models import densenet121

    print("weights: random (the real ones are not in the models folder); DenseNet121 architecture")
    torch.manual_seed(0)
    return densenet121(weights=None).eval()


def plain_loop(model: torch.nn.Module, photos: list[Path]) -> np.ndarray:
    """What a notebook does: fp32, default memory layout, no_grad, batches of 32."""
    out = []
    with torch.no_grad():
        for start in range(0, len(photos), BATCH):
            pixels = imagenet_tensor([open_image(p) for p in photos[start : start + BATCH]])
            out.append(pooled_features(model, pixels).numpy())
    return np.concatenate(out)


def project_path(extract: FastFeatureExtractor, photos: list[Path]) -> np.ndarray:
    return np.concatenate([extract(imagenet_tensor([open_image(p) for p in photos[start : start + BATCH]]))
                           for start in range(0, len(photos), BATCH)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=64, help="photos to process (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each path takes; best time kept (default 3)")
    args = parser.parse_args()
    print(cpu_line())

    listings = load_dataset().listings.dropna(subset=["image_path"]).sample(n=args.n, random_state=0)
    photos = [Path(p) for p in listings["image_path"]]
    model = full_size_densenet()
    extract = FastFeatureExtractor(model)
    print(f"{len(photos)} photos, {torch.get_num_threads()} threads, plain batch {BATCH}, "
          f"project batch {extract.batch_size}")
    plain_loop(model, photos[:2])  # warm-up, both paths alike
    project_path(extract, photos[:2])

    seconds, returned = best_of_turns({"plain": lambda: plain_loop(model, photos),
                                       "project": lambda: project_path(extract, photos)}, args.rounds)
    plain_seconds, project_seconds = seconds["plain"], seconds["project"]
    plain, fast = returned["plain"], returned["project"]
    print(f"plain fp32 loop: best {plain_seconds:.1f} s of {args.rounds}, {len(photos) / plain_seconds:.2f} photos/s")
    print(f"project path: best {project_seconds:.1f} s of {args.rounds}, {len(photos) / project_seconds:.2f} photos/s")
    print(f"largest feature difference {np.abs(plain - fast).max():.2e}")
    print(f"ratio {plain_seconds / project_seconds:.2f}")


if __name__ == "__main__":
    main()
