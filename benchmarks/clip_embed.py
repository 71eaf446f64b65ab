"""CLIP embedding throughput on this CPU: the plain transformers fp32 loop against Vitrine's embedder.

Both embed the same N listings (photo + description; a seeded random sample) from the reference
data, decoding and squaring the photos the same way, with the full-size ViT-B/32 architecture: the
real weights when they are in the models folder, else random weights (same FLOPs; the numbers say
nothing about accuracy).

    .venv/bin/python benchmarks/clip_embed.py [-n 64] [--rounds 3]

The two paths take turns for a few rounds and each keeps its best time (``timing.py``). The last
line reads ``ratio R min_cos C``:
R = project speed / plain speed, C = the smallest cosine similarity between the two embeddings of
the same photo or text.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import best_of_turns, cpu_line  # noqa: E402
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor  # noqa: E402

from core.clip_tokenizer import CONTEXT_LENGTH, clip_tokenizer  # noqa: E402
from core.dataset import load_dataset  # noqa: E402
from core.embeddings.clip_embedder import ClipEmbedder  # noqa: E402
from core.images import open_image, to_square  # noqa: E402
from core.models.clip import DEFAULT_CLIP, LoadedClip, clip_available, load_clip  # noqa: E402
from core.workspace import Workspace  # noqa: E402


def full_size_clip() -> LoadedClip:
    """The real ViT-B/32 when present, else the same architecture with random weights."""
    workspace = Workspace.from_environment()
    if clip_available(DEFAULT_CLIP, workspace.models):
        print(f"weights: {DEFAULT_CLIP} (real)")
        return load_clip(DEFAULT_CLIP, workspace.models, workspace.cache)
    print("weights: random (the real ones are not in the models folder); ViT-B/32 architecture")
    torch.manual_seed(0)
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(), tokenizer=clip_tokenizer())
    return LoadedClip("random-vit-b-32", CLIPModel(CLIPConfig()).eval(), processor, "random")


def plain_loop(loaded: LoadedClip, photos, texts, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """What a notebook does: fp32, batches of 32, text padded to 77 tokens."""
    model, processor = loaded.model, loaded.processor
    images, words = [], []
    with torch.no_grad():
        for start in range(0, len(photos), batch_size):
            batch = [to_square(open_image(p))[0] for p in photos[start : start + batch_size]]
            pixels = processor(images=batch, return_tensors="pt")["pixel_values"]
            images.append(model.get_image_features(pixel_values=pixels).pooler_output)
        for start in range(0, len(texts), batch_size):
            tokens = processor.tokenizer(texts[start : start + batch_size], padding="max_length", truncation=True,
                                         max_length=CONTEXT_LENGTH, return_tensors="pt")
            words.append(model.get_text_features(**tokens).pooler_output)
    norm = torch.nn.functional.normalize
    return norm(torch.cat(images), dim=-1).numpy(), norm(torch.cat(words), dim=-1).numpy()


def project_path(embedder: ClipEmbedder, photos, texts) -> tuple[np.ndarray, np.ndarray]:
    return embedder.embed_images([open_image(p) for p in photos]), embedder.embed_texts(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=64, help="listings to embed (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each path takes; best time kept (default 3)")
    args = parser.parse_args()
    print(cpu_line())

    # A seeded random sample: the CSV's first rows are not typical of the description lengths.
    listings = load_dataset().listings.dropna(subset=["image_path"]).sample(n=args.n, random_state=0)
    photos, texts = [Path(p) for p in listings["image_path"]], listings["description"].tolist()
    loaded = full_size_clip()
    print(f"{len(photos)} listings, {torch.get_num_threads()} threads")

    start = time.perf_counter()
    embedder = ClipEmbedder(loaded, fast=True)
    print(f"project setup (int8 quantisation, once per process): {time.perf_counter() - start:.1f} s")
    project_path(embedder, photos[:2], texts[:2])  # warm-up, both paths alike
    plain_loop(loaded, photos[:2], texts[:2])

    seconds, returned = best_of_turns({"plain": lambda: plain_loop(loaded, photos, texts),
                                       "project": lambda: project_path(embedder, photos, texts)}, args.rounds)
    plain_seconds, project_seconds = seconds["plain"], seconds["project"]
    (plain_images, plain_texts), (fast_images, fast_texts) = returned["plain"], returned["project"]
    plain_speed, project_speed = len(photos) / plain_seconds, len(photos) / project_seconds
    print(f"plain fp32 loop: best {plain_seconds:.1f} s of {args.rounds}, {plain_speed:.2f} listings/s")
    print(f"project embedder: best {project_seconds:.1f} s of {args.rounds}, {project_speed:.2f} listings/s")
    cosines = np.concatenate([(plain_images * fast_images).sum(1), (plain_texts * fast_texts).sum(1)])
    print(f"ratio {project_speed / plain_speed:.2f} min_cos {cosines.min():.4f}")


if __name__ == "__main__":
    main()
