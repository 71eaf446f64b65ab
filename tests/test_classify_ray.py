"""The classify job on Ray Data: the same answers as the local engine, row for row."""
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from core.cli import EXIT_UNAVAILABLE, main
from core.dataset import load_dataset
from core.locations import REPO_ROOT
from tests.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the module's runs (starting one takes seconds)."""
    ray = pytest.importorskip("ray", reason="Ray is installed by the test command (requirements-scale.txt)")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _both_engines(path: Path, folder: Path, *options: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for engine in ("local", "ray"):
        out = folder / f"{engine}.parquet"
        assert main(["classify", str(path), "--engine", engine, "--out", str(out), *options]) == 0
        frames.append(pd.read_parquet(out))
    return frames[0], frames[1]


def _same_answers(local: pd.DataFrame, ray: pd.DataFrame) -> None:
    assert ray["id"].tolist() == local["id"].tolist()  # one row per input row, in input order
    assert ray["status"].tolist() == local["status"].tolist()
    assert ray["predicted"].fillna("").tolist() == local["predicted"].fillna("").tolist()
    for column in ("confidence", "top_1_probability", "top_2_probability", "top_3_probability"):
        assert (ray[column].fillna(-1) - local[column].fillna(-1)).abs().max() < 1e-9


def test_five_thousand_tfidf_listings_get_the_local_engines_answers(local_ray, reference_dataset, tmp_path,
                                                                     capsys):
    listings = reference_dataset.listings  # the shipped sample holds fewer: cycled up to 5,000
    rows = pd.concat([listings] * (5000 // len(listings) + 1), ignore_index=True).head(5000)
    rows["uniq_id"] = [f"{i}-{uid}" for i, uid in enumerate(rows["uniq_id"])]
    path = tmp_path / "new.csv"
    rows[["uniq_id", "product_name", "description"]].to_csv(path, index=False)
    local, ray = _both_engines(path, tmp_path)
    assert len(ray) == 5000
    _same_answers(local, ray)
    assert "5000 row(s): 5000 classified" in capsys.readouterr().out


def test_tiny_clip_listings_with_hostile_rows_get_the_local_engines_answers(local_ray, small_data_dir, tmp_path,
                                                                            monkeypatch):
    assert main(["models", "import", "clip", str(save_tiny_clip(tmp_path / "tiny")), "--model", "tiny-ray"]) == 0
    monkeypatch.setenv("VITRINE_CLIP_MODEL", "tiny-ray")
    reference = load_dataset(Path(__file__).resolve().parent.parent / "assets" / "sample")
    with_photos = reference.listings.dropna(subset=["image_path"]).head(58)
    (tmp_path / "photos").mkdir()
    for source in with_photos["image_path"]:
        shutil.copy(source, tmp_path / "photos")
    (tmp_path / "photos" / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    rows = pd.DataFrame({"id": with_photos["uniq_id"], "product_name": with_photos["product_name"],
                         "description": with_photos["description"],
                         "photo": ["photos/" + Path(p).name for p in with_photos["image_path"]]})
    hostile = pd.DataFrame({"id": ["h1", "h2", "h3", "h4", "h5", "h6"],
                            "product_name": ["Towel", "", "Watch", "Mug", "<script>alert(1)</script>", "Lamp"],
                            "description": ["soft towel", "", "steel watch", "ceramic mug", "=1+1", "desk lamp"],
                            "photo": ["photos/damaged.jpg", "", "../../etc/passwd", "photos/missing.jpg", "", ""]})
    path = tmp_path / "new.csv"
    text = pd.concat([rows, hostile]).to_csv(index=False).encode()
    path.write_bytes(text + "h7,Caf\xe9 mug,ceramic coffee mug,\n".encode("latin-1")  # not UTF-8
                     + b"h8,Lamp,desk lamp,,extra,fields\n")  # two fields too many
    local, ray = _both_engines(path, tmp_path, "--scenario", "clip_a")
    assert len(ray) == 66
    _same_answers(local, ray)
    status = dict(zip(ray["id"], ray["status"]))
    assert status["h1"].startswith("text only: photo unusable (the photo file is damaged")
    assert status["h2"].startswith("not classified: nothing to read")
    assert status["h3"] == "text only: photo unusable (its path '../../etc/passwd' leaves the batch's folder)"
    assert status["h7"] == "not classified: the row is not valid UTF-8 text (save the file as UTF-8)"
    assert status["h8"] == "not classified: the line has 6 fields where the header has 4"


def test_a_folder_output_gets_parquet_shards_holding_every_row(local_ray, small_data_dir, tmp_path, capsys):
    path = tmp_path / "new.csv"
    pd.DataFrame({"id": [f"n{i}" for i in range(300)], "description": ["steel analog watch"] * 300}).to_csv(path)
    assert main(["classify", str(path), "--engine", "ray", "--out", f"{tmp_path / 'shards'}/"]) == 0
    assert "300 row(s): 300 classified" in capsys.readouterr().out
    shards = pd.read_parquet(tmp_path / "shards")
    assert sorted(shards["id"]) == sorted(f"n{i}" for i in range(300))
    assert main(["classify", str(path), "--out", f"{tmp_path / 'local'}/"]) == 3  # one file only, locally
    assert "need --engine ray" in capsys.readouterr().err
    assert main(["classify", str(path), "--engine", "ray", "--out", f"{tmp_path / 'shards'}/"]) == 3
    assert "not a new or empty folder" in capsys.readouterr().err
    assert len(pd.read_parquet(tmp_path / "shards")) == 300  # the first run's shards, untouched


def test_without_ray_the_engine_says_how_to_install_it(small_data_dir, tmp_path, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else find_spec(name, *a))
    (tmp_path / "batch").mkdir()
    path = tmp_path / "batch" / "new.csv"
    path.write_text("id,description\n1,steel watch\n", encoding="utf-8")
    assert main(["classify", str(path), "--engine", "ray"]) == EXIT_UNAVAILABLE
    assert "pip install -r requirements-scale.txt" in capsys.readouterr().err
    assert list(path.parent.iterdir()) == [path]


_ON_ONE_CPU = """
import sys
import ray
ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
from core.cli import main
sys.exit(main(["classify", sys.argv[1], "--engine", "ray", "--out", sys.argv[2]]))
"""


def test_a_one_cpu_ray_finishes_the_job(small_data_dir, tmp_path):
    # Its one actor must not hold the only CPU while the reading tasks wait for it.
    pytest.importorskip("ray", reason="Ray is installed by the test command (requirements-scale.txt)")
    path = tmp_path / "new.csv"
    pd.DataFrame({"id": [f"n{i}" for i in range(50)], "description": ["cotton double bedsheet"] * 50}).to_csv(path)
    run = subprocess.run([sys.executable, "-c", _ON_ONE_CPU, str(path), str(tmp_path / "out.csv")],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=240)
    assert "50 row(s): 50 classified" in run.stdout, run.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "out.csv")) == 50
    # Ray Data's plan and its progress as log lines stay in its log files; the job's summary is on stdout
    assert "Execution plan" not in run.stderr and "Total Progress" not in run.stderr


def _folder_batch(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "images").mkdir()
    Image.new("RGB", (8, 8), "red").save(folder / "images" / "w.jpg")
    (folder / "listings.csv").write_text("id,description,photo\nf1,steel analog watch,w.jpg\n"
                                         "f2,cotton bath towel,missing.jpg\nf3,,\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("shape", ["folder", "zip"])
def test_a_folder_or_zip_batch_gets_the_local_engines_answers(local_ray, small_data_dir, tmp_path, capsys, shape):
    source = _folder_batch(tmp_path / "batch")
    if shape == "zip":
        source = Path(shutil.make_archive(str(tmp_path / "batch"), "zip", source))
    local, ray = _both_engines(source, tmp_path)
    _same_answers(local, ray)
    assert ray["status"].tolist() == ["ok", "ok", "not classified: nothing to read (no title or description)"]
    out = capsys.readouterr().out
    assert out.count("this scenario reads no photos: the batch's 'photo' column was not read") == 2  # both engines


def test_ray_says_what_is_wrong_with_a_batch_before_the_classifier_loads(local_ray, small_data_dir, tmp_path,
                                                                         capsys):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as packed:
        packed.writestr("notes.txt", "no listings here")
    assert main(["classify", str(empty), "--engine", "ray"]) == 3
    said = capsys.readouterr().err
    assert "must hold exactly one CSV file; it holds 0" in said and "tfidf on " not in said


def test_ray_shards_are_readable_like_any_other_output(local_ray, small_data_dir, tmp_path):
    path = tmp_path / "new.csv"
    pd.DataFrame({"id": ["a", "b"], "description": ["steel watch", "bath towel"]}).to_csv(path, index=False)
    assert main(["classify", str(path), "--engine", "ray", "--out", f"{tmp_path / 'shards'}/"]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "shards").stat().st_mode) == 0o777 & ~mask
