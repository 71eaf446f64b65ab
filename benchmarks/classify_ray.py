"""The classify job on Ray Data against the local engine, on one machine: tfidf on 1,000,000 synthetic
listings (the reference listings' texts cycled, each with its own id, in one Parquet file).

Each engine runs in its own process (Ray's driver is that process; its workers are not counted), one
after the other in this run: listings per second end to end and the driver's peak memory.

    .venv/bin/python benchmarks/classify_ray.py [--rows 1000000]

The last line reads ``ray_per_s A local_per_s B driver_mb C``; targets on a 2-core CPU: A >= 0.5 x B
(Ray's overhead on one small machine stays bounded) and C <= 1,000 (the driver never holds the catalogue).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import cpu_line  # noqa: E402

from core.locations import REPO_ROOT  # noqa: E402

_CLASSIFY_AND_PEAK = """
import re, sys
from pathlib import Path
from core.cli import main
assert main(["classify", sys.argv[1], "--engine", sys.argv[2], "--out", sys.argv[3]]) == 0
print("peak_mb", int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024)
"""
WRITE_ROWS = 100_000


def write_synthetic(listings: pd.DataFrame, rows: int, path: Path) -> None:
    """``rows`` listings cycling the reference texts into one Parquet file, written in parts."""
    texts = listings[["uniq_id", "product_name", "description"]].reset_index(drop=True)
    schema = pa.schema([(c, pa.string()) for c in texts.columns])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, WRITE_ROWS):
            positions = [i % len(texts) for i in range(start, min(start + WRITE_ROWS, rows))]
            part = texts.iloc[positions].copy()
            part["uniq_id"] = [f"{start + i}-{uid}" for i, uid in enumerate(part["uniq_id"])]
            writer.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False))


def run(engine: str, source: Path, output: Path) -> tuple[float, int]:
    """Listings per second and the driver's peak memory (MB) of one engine's run."""
    done = subprocess.run([sys.executable, "-c", _CLASSIFY_AND_PEAK, str(source), engine, str(output)],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    per_second = float(re.search(r"([\d,.]+) listings per second", done.stdout).group(1).replace(",", ""))
    return per_second, int(re.search(r"peak_mb (\d+)", done.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic listings (default 1,000,000)")
    args = parser.parse_args()
    print(cpu_line())
    with tempfile.TemporaryDirectory(prefix="vitrine-bench-ray-") as scratch:
        folder = Path(scratch)
        os.environ["VITRINE_WORK_DIR"] = str(folder / "work")
        from core.dataset import load_dataset

        listings = load_dataset().listings
        source = folder / "listings.parquet"
        write_synthetic(listings, args.rows, source)
        print(f"{args.rows:,} listings cycling {len(listings)} distinct ones; {os.cpu_count()} cores")
        local, local_peak = run("local", source, folder / "local.parquet")
        ray, ray_peak = run("ray", source, folder / "ray.parquet")
        print(f"local engine {local:,.0f}/s (peak {local_peak} MB); Ray engine {ray:,.0f}/s, driver peak {ray_peak} MB "
              f"(ratio {ray / local:.2f})")
    print(f"ray_per_s {ray:.0f} local_per_s {local:.0f} driver_mb {ray_peak}")


if __name__ == "__main__":
    main()
