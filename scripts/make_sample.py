"""Rebuild the sample shipped in ``assets/sample/`` from the full reference data.

The first N listings of each main category in the CSV's order (20 by default: a 16/4 train/test
split per category), their rows copied byte for byte, and their photos downscaled so the longer
side is 256 px (JPEG quality 85). Deterministic: the same reference data gives the same sample.

    .venv/bin/python scripts/make_sample.py [--source ../shared/data/flipkart] [--per-category 20]
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.dataset import main_category  # noqa: E402
from core.images import open_image  # noqa: E402
from core.locations import CSV_NAME, IMAGES_DIR_NAME, REPO_ROOT, SAMPLE_DATA_DIR  # noqa: E402

PHOTO_SIDE = 256
JPEG_QUALITY = 85


def sample_rows(csv_text: str, per_category: int) -> list[list[str]]:
    """The header and the first ``per_category`` rows of each main category, in the CSV's order."""
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    header, body = rows[0], rows[1:]
    tree, seen = header.index("product_category_tree"), Counter()
    chosen = [header]
    for row in body:
        category = main_category(row[tree])
        if category is not None and seen[category] < per_category:
            seen[category] += 1
            chosen.append(row)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "flipkart")
    parser.add_argument("--out", type=Path, default=SAMPLE_DATA_DIR)
    parser.add_argument("--per-category", type=int, default=20)
    args = parser.parse_args()

    rows = sample_rows((args.source / CSV_NAME).read_text(encoding="utf-8"), args.per_category)
    images = args.out / IMAGES_DIR_NAME
    images.mkdir(parents=True, exist_ok=True)
    for old in [*images.glob("*.jpg"), *args.out.glob("*.csv")]:  # only what an earlier run of this script wrote
        old.unlink()
    # Named for what it holds; the loader takes the only CSV in the folder.
    csv_path = args.out / f"flipkart_com-ecommerce_sample_{len(rows) - 1}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)  # the reference file's own line ends
    column = rows[0].index("image")
    for row in rows[1:]:
        photo = args.source / IMAGES_DIR_NAME / row[column]
        if photo.is_file():
            small = open_image(photo, max_side=PHOTO_SIDE)
            small.save(images / row[column], "JPEG", quality=JPEG_QUALITY, optimize=True)
    print(f"{len(rows) - 1} listings and {len(list(images.glob('*.jpg')))} photos written to {args.out}")


if __name__ == "__main__":
    main()
