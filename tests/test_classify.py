"""The daily job: classifying a file of new listings, row for row, whatever the file holds."""
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from core.classify import job
from core.cli import EXIT_DATA, EXIT_UNAVAILABLE, main
from core.dataset import load_dataset
from core.locations import REPO_ROOT
from core.runs import run_scenario
from core.scenarios.tfidf import TfidfScenario
from core.workspace import Workspace
from tests.conftest import REFERENCE_DATA, needs_reference_data
from tests.tiny_models import save_tiny_clip


@needs_reference_data  # a cut-off needs 230 held-out predictions; the shipped sample has 112
def test_the_reference_csv_gets_one_row_per_listing_and_the_stored_predictions(tmp_path, capsys):
    dataset = load_dataset()
    stored = run_scenario(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    out = tmp_path / "out.parquet"
    assert main(["classify", str(dataset.csv_path), "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o044 == 0o044  # readable like any file, not private as a temporary one
    summary = capsys.readouterr()
    assert f"{len(dataset.listings)} row(s): {len(dataset.listings)} classified" in summary.out
    assert "listings per second" in summary.out and "review below" in summary.err
    frame = pd.read_parquet(out)
    assert frame["id"].tolist() == pd.read_csv(dataset.csv_path, dtype=str)["uniq_id"].tolist()
    test = stored.predictions[stored.predictions["split"] == "test"].set_index("uniq_id")
    mine = frame.set_index("id").loc[test.index]
    assert (mine["predicted"] == test["predicted"]).all()
    threshold = stored.review_threshold()
    assert (mine["needs_review"] == (mine["confidence"] < threshold.cutoff)).all()
    assert (mine["top_1"] == mine["predicted"]).all() and (mine["top_1_probability"] >= mine["top_2_probability"]).all()


def _hostile_batch(folder: Path) -> Path:
    """A CSV with every kind of bad row a seller file brings, and photos to match."""
    folder.mkdir()
    (folder / "photos").mkdir()
    Image.new("RGB", (40, 30), "red").save(folder / "photos" / "good.jpg")
    (folder / "photos" / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows = [
        "id,product_name,description,photo",
        "a1,Analog watch,steel analog wrist watch for men,photos/good.jpg",
        "a2,Cotton towel,soft cotton baby towel,photos/damaged.jpg",
        "a3,Router,wifi router with usb port,photos/missing.jpg",
        "a4,,,",
        "a1,Duplicate id,leather strap watch,",
        "a5,Escape,a watch,../../../etc/passwd",
        "a6,Too,many,fields,here,yes",
        "a7,Mouse,wireless optical mouse,",
    ]
    path = folder / "batch.csv"
    path.write_bytes(("\n".join(rows) + "\n").encode() + "a8,Caf\xe9 mug,ceramic coffee mug\n".encode("latin-1"))
    return path


def test_a_hostile_batch_gives_every_row_a_status_and_loses_none(small_data_dir, tmp_path, capsys):
    path = _hostile_batch(tmp_path / "batch")
    out = tmp_path / "out.csv"
    assert main(["classify", str(path), "--out", str(out)]) == 0
    frame = pd.read_csv(out, dtype={"id": str}, keep_default_na=False)
    assert frame["id"].tolist() == ["a1", "a2", "a3", "a4", "a1", "a5", "a6", "a7", "a8"]
    status = dict(zip(range(9), frame["status"]))
    assert status[0] == status[1] == status[2] == status[4] == status[5] == status[7] == "ok"  # tfidf reads no photo
    assert status[3] == "not classified: nothing to read (no title or description)"
    assert status[6] == "not classified: the line has 6 fields where the header has 4"
    assert status[8] == "not classified: the row is not valid UTF-8 text (save the file as UTF-8)"
    assert frame.loc[frame["status"] == "ok", "predicted"].ne("").all()
    assert frame.loc[frame["status"] != "ok", "needs_review"].all()
    out = capsys.readouterr().out
    assert "9 row(s): 6 classified" in out
    assert "1 row repeats the id of an earlier row (the first: 'a1', listing 5)" in out
    assert "this scenario reads no photos: the batch's 'photo' column was not read" in out


def test_a_line_with_extra_fields_keeps_its_place_and_shifts_no_other_row(small_data_dir, tmp_path, capsys):
    path = tmp_path / "batch.csv"
    path.write_text("id,description\n1,steel watch\n2,cotton towel,extra,fields\n3,mug\n", encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    frame = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    assert frame["id"].tolist() == ["1", "2", "3"]
    assert frame["status"].tolist() == ["ok", "not classified: the line has 4 fields where the header has 2", "ok"]


def test_lines_with_broken_quotes_get_their_status_with_their_id_and_lose_no_other_row(small_data_dir, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text('id,description\n1,steel watch\nq1,"Quoted" trailing,"watch"\nx1,"Laptop 15.6"" screen" bag,usb\n'
                    '\n3,mug\nu1,"unclosed\n4,after\n', encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    frame = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    assert frame["id"].tolist() == ["1", "q1", "x1", "3", "u1", "4"]  # the blank line is no listing
    status = dict(zip(frame["id"], frame["status"]))
    assert status["1"] == status["3"] == status["4"] == "ok"
    assert status["q1"].startswith("not classified: a quote opened on this line closes in the middle of a field")
    assert status["u1"].startswith("not classified: a quote opened on this line is never closed")


def test_a_quote_left_open_mid_file_costs_its_row_and_not_the_rows_it_ran_into(small_data_dir, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text('id,name,description,photo\n'
                    'h1,Curtain,"door curtain, 213 cm",\n'
                    'h2,Broken,"this description never closes its quote,\n'
                    'h3,Too many,desc,,extra\n'
                    'h4,Mug,ceramic coffee mug,\n'
                    'h5,Towel,"Specifications of a cotton towel (3, red)",\n'  # this quote ends h2's field
                    'h6,Watch,"steel analog\nwrist watch",\n'  # a description over two lines, as many sellers write
                    'r1,Bedsheet,"Key features:\n- soft "cotton" fabric\n- double bed",\n'  # a broken quote inside
                    'h7,Lamp,desk lamp,\n', encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    frame = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    status = dict(zip(frame["id"], frame["status"]))
    assert frame["id"].tolist()[:7] == ["h1", "h2", "h3", "h4", "h5", "h6", "r1"] and frame["id"].iloc[-1] == "h7"
    assert status["h1"] == status["h4"] == status["h5"] == status["h6"] == status["h7"] == "ok"
    assert status["h2"].startswith("not classified: a quote opened on this line closes in the middle of a field")
    assert status["h3"] == "not classified: the line has 5 fields where the header has 4"
    assert status["r1"].startswith("not classified: a quote opened on this line closes in the middle of a field")
    fragments = frame["status"].iloc[7:-1].tolist()  # the rest of r1's description: marked, not taken for listings
    assert fragments and set(fragments) == {"not classified: this line seems to belong to a row above it whose quotes "
                                            "are broken (it has too few fields)"}


def test_a_field_too_long_for_any_listing_costs_its_row_only(small_data_dir, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text("id,description\n1,steel watch\nbig," + "x" * 200_000 + "\n2,coffee mug\n", encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.csv")]) == 0
    frame = pd.read_csv(tmp_path / "out.csv", dtype={"id": str}, keep_default_na=False)
    assert frame["id"].tolist() == ["1", "big", "2"]
    assert frame["status"].tolist()[::2] == ["ok", "ok"]
    assert frame["status"][1].startswith("not classified: a field is longer than 131,072 characters")


def test_photos_that_cannot_be_used_leave_the_listing_its_text(small_data_dir, tmp_path, monkeypatch, capsys):
    assert main(["models", "import", "clip", str(save_tiny_clip(tmp_path / "tiny")), "--model", "tiny-batch"]) == 0
    monkeypatch.setenv("VITRINE_CLIP_MODEL", "tiny-batch")
    path = _hostile_batch(tmp_path / "batch")
    out = tmp_path / "out.parquet"
    assert main(["classify", str(path), "--scenario", "clip_a", "--out", str(out)]) == 0
    status = pd.read_parquet(out)["status"].tolist()
    assert status[0] == status[4] == status[7] == "ok"  # a good photo, and rows that name none
    assert status[1] == "text only: photo unusable (the photo file is damaged or incomplete and cannot be read)"
    assert status[2] == "text only: photo unusable (the file 'photos/missing.jpg' is not there)"
    assert status[5] == "text only: photo unusable (its path '../../../etc/passwd' leaves the batch's folder)"
    assert status[3] == "not classified: nothing to read (no title or description and no photo)"
    out = capsys.readouterr().out
    assert "3 on their text only" in out and "reads no photos" not in out  # clip_a reads them


def test_a_run_that_fails_midway_leaves_no_output_and_no_partial_file(tmp_path, monkeypatch, capsys):
    dataset = load_dataset()
    out = tmp_path / "out.parquet"
    calls = []

    def fail_on_the_second_chunk(chunk, *args):
        calls.append(chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return classify(chunk, *args)

    classify = job.classify_chunk
    monkeypatch.setattr(job, "classify_chunk", fail_on_the_second_chunk)
    monkeypatch.setattr(job, "CHUNK_ROWS", 100)
    assert main(["classify", str(dataset.csv_path), "--out", str(out)]) == 130
    assert "stopped" in capsys.readouterr().err
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


def test_a_file_without_the_columns_it_needs_says_which(tmp_path, capsys):
    path = tmp_path / "wrong.csv"
    path.write_text("sku,colour\n1,red\n", encoding="utf-8")
    assert main(["classify", str(path)]) == EXIT_DATA
    assert "wrong.csv has no id column (uniq_id or id) and no description or product name column" in (
        capsys.readouterr().err)
    assert not list(tmp_path.glob("*.parquet"))


_PEAK_OF_CLASSIFYING = """
import re, sys
from pathlib import Path
from core.cli import main
assert main(["classify", sys.argv[1], "--out", sys.argv[2]]) == 0
print(int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024)
"""


@pytest.mark.skipif(not REFERENCE_DATA.is_dir(), reason="needs the full reference data for a realistic text mix")
def test_memory_stays_flat_whatever_the_files_size(tmp_path):
    dataset = load_dataset()
    run_scenario(TfidfScenario(), dataset, Workspace.from_environment().results_store())
    rows = pd.read_csv(dataset.csv_path, dtype=str)[["uniq_id", "product_name", "description"]]
    peaks = {}
    for size in (2_000, 20_000):
        batch = pd.concat([rows] * (size // len(rows) + 1)).head(size)
        path = tmp_path / f"batch-{size}.csv"
        batch.to_csv(path, index=False)
        run = subprocess.run([sys.executable, "-c", _PEAK_OF_CLASSIFYING, str(path), str(tmp_path / f"{size}.parquet")],
                             capture_output=True, text=True, cwd=REPO_ROOT, check=True)
        peaks[size] = int(run.stdout.split()[-1])
        assert re.search(rf"^{size} row\(s\): {size} classified", run.stdout, re.M)
    assert peaks[20_000] - peaks[2_000] < 100, peaks  # ten times the rows, about the same memory


def test_a_text_scenarios_run_never_loads_torch(tmp_path):
    # Half a gigabyte in every process that imports it: Ray's driver and workers included.
    path = tmp_path / "batch.csv"
    path.write_text("id,description\n1,steel analog watch\n2,cotton bedsheet\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", _PEAK_OF_CLASSIFYING + "print('torch' in sys.modules)", str(path),
                          str(tmp_path / "out.csv")], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert "2 row(s): 2 classified" in run.stdout
    assert run.stdout.split()[-1] == "False"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU torch can see")
def test_asking_for_a_gpu_that_is_not_there_says_so_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "batch.csv"
    path.write_text("id,description\n1,steel analog watch\n", encoding="utf-8")
    assert main(["classify", str(path), "--device", "cuda"]) == EXIT_UNAVAILABLE
    assert "No CUDA GPU is visible to torch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [path]


needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_gpu
def test_on_a_gpu_clip_embeds_what_the_cpu_embeds(tmp_path):
    from core.classify.gpu_photo_decoding import decode_on_device, read_for_gpu
    from core.classify.photo_decoding import decode_photos
    from core.embeddings.clip_embedder import ClipEmbedder
    from core.models.clip import load_clip

    save_tiny_clip(tmp_path / "tiny")
    photos = []
    for i, size in enumerate([(64, 40), (40, 64), (50, 50)]):
        Image.new("RGB", size, (40 * i, 200, 90)).save(tmp_path / f"{i}.jpg")
        photos.append(tmp_path / f"{i}.jpg")
    cpu = ClipEmbedder(load_clip(str(tmp_path / "tiny"), tmp_path / "models", tmp_path / "cache"), fast=False)
    gpu = ClipEmbedder(load_clip(str(tmp_path / "tiny"), tmp_path / "models", tmp_path / "cache"), device="cuda")
    pillow = decode_photos(photos)
    on_gpu = decode_on_device([read_for_gpu(path) for path in photos], "cuda")
    assert all(photo.is_cuda for photo in on_gpu)
    texts = ["steel analog watch", "soft cotton baby towel with a hood"]
    expected = cpu.embed_images(pillow)
    for vectors in (gpu.embed_images(pillow), gpu.embed_images(on_gpu)):
        assert ((vectors * expected).sum(axis=1) > 0.99).all()
    assert ((gpu.embed_texts(texts) * cpu.embed_texts(texts)).sum(axis=1) > 0.99).all()


@needs_gpu
def test_on_a_gpu_a_hostile_batch_gets_the_statuses_it_gets_on_the_cpu(small_data_dir, tmp_path, monkeypatch,
                                                                        capsys):
    assert main(["models", "import", "clip", str(save_tiny_clip(tmp_path / "tiny")), "--model", "tiny-gpu"]) == 0
    monkeypatch.setenv("VITRINE_CLIP_MODEL", "tiny-gpu")
    path = _hostile_batch(tmp_path / "batch")
    frames = {}
    for run, options in {"cpu": ["--device", "cpu"], "gpu": ["--device", "cuda"],
                         "gpu explained": ["--device", "cuda", "--explain"]}.items():
        out = tmp_path / f"{run}.parquet"
        assert main(["classify", str(path), "--scenario", "clip_a", "--out", str(out)] + options) == 0
        frames[run] = pd.read_parquet(out)
    assert "clip_a on the GPU (" in capsys.readouterr().err
    cpu = frames["cpu"]
    classified = cpu["predicted"].notna()
    for run in ("gpu", "gpu explained"):  # the numbers: test_on_a_gpu_clip_embeds_what_the_cpu_embeds
        assert frames[run]["status"].tolist() == cpu["status"].tolist()
        assert frames[run]["predicted"].notna().tolist() == classified.tolist()
    assert frames["gpu explained"]["words"].notna().tolist() == classified.tolist()


def test_explained_words_name_each_word_once(small_data_dir, tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text("id,description\nw1,watch watch watch Watch strap dial steel analog men wrist\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["classify", str(path), "--explain", "--out", str(out)]) == 0
    words = pd.read_csv(out)["words"][0].split(", ")
    assert len(words) == 5 and len(set(words)) == 5 and "watch" in words


def test_the_summary_says_how_much_of_the_run_went_to_starting_ray():
    counts = dict(rows=1000, classified=1000, text_only=0, not_classified=0, needs_review=10, output=Path("o.parquet"))
    on_ray = job.ClassifySummary(seconds=12.0, engine_start_seconds=9.0, **counts).lines()[2]
    assert on_ray.startswith("83 listings per second (9 s of the run's 12 s went to starting Ray);")
    assert "Ray" not in job.ClassifySummary(seconds=12.0, **counts).lines()[2]


def test_repeated_ids_are_counted_once_per_extra_row_and_the_first_is_named():
    repeats = job.RepeatedIds()
    repeats.add(["x", "y", "", "x"], 0)
    repeats.add(["", "y", "x", "z"], 4)  # an empty id is no id: it repeats nothing
    counts = dict(rows=8, classified=8, text_only=0, not_classified=0, needs_review=0, output=Path("o.parquet"))
    summary = job.ClassifySummary(seconds=1.0, **counts, **repeats.counts())
    assert summary.lines()[-1].startswith("3 rows repeat the id of an earlier row (the first: 'x', listing 4);")
    unordered = job.RepeatedIds()
    unordered.add(["x", "x"], None)  # Parquet shards: the rows' positions are not known
    assert "(the first: 'x');" in job.ClassifySummary(seconds=1.0, **counts, **unordered.counts()).repeats_line()
    assert len(job.ClassifySummary(seconds=1.0, **counts).lines()) == 3  # no repeats, no line about them
    long = job.RepeatedIds()
    long.add(["y" * 5000] * 2, 0)
    assert f"(the first: '{'y' * 59}…', listing 2)" in job.ClassifySummary(seconds=1.0, **counts,
                                                                            **long.counts()).repeats_line()


def test_a_zipped_batch_finds_its_photos_where_the_folder_had_them_and_leaves_too_large_ones_packed(tmp_path,
                                                                                                   monkeypatch):
    from core import archive
    from core.classify.batch_input import open_batch

    monkeypatch.setattr(archive, "MAX_PHOTO_BYTES", 2_000)
    small, large = tmp_path / "small.jpg", tmp_path / "large.jpg"
    Image.new("RGB", (8, 8), "red").save(small)
    Image.effect_noise((200, 200), 80).convert("RGB").save(large, quality=95)  # noise: far over 2,000 bytes
    path = tmp_path / "batch.zip"
    with zipfile.ZipFile(path, "w") as packed:
        packed.writestr("batch/listings.csv", "id,description,photo\nb1,red watch,small.jpg\nb2,noisy mug,large.jpg\n"
                                              "b3,plain mug,Images/large.jpg\nb4,blue mug,photos/small.jpg\n")
        packed.write(small, "batch/Images/small.jpg")
        packed.write(large, "batch/Images/large.jpg")
        packed.write(small, "batch/photos/small.jpg")  # a folder of the seller's own naming
        packed.write(large, "batch/Images/unnamed.jpg")  # named by no row: it refuses nothing
    with open_batch(path) as batch:
        [chunk] = list(batch.chunks())
        assert all(photo.is_file() for photo in (chunk.photos[0], chunk.photos[3]))
    assert chunk.photo_problems[0] is chunk.photo_problems[3] is None
    assert chunk.photos[1] is chunk.photos[2] is None
    reason = "the photo large.jpg is larger than 0.002 MB, the most accepted; it was left in the zip"
    assert chunk.photo_problems[1:3] == [reason, reason]


def test_an_output_name_that_is_neither_parquet_nor_csv_is_refused_before_anything_runs(small_data_dir, tmp_path,
                                                                                         capsys):
    path = tmp_path / "batch.csv"
    path.write_text("id,description\n1,steel watch\n", encoding="utf-8")
    assert main(["classify", str(path), "--out", str(tmp_path / "out.xlsx")]) == EXIT_DATA
    said = capsys.readouterr().err
    assert "out.xlsx: the output is written as Parquet or CSV" in said and "tfidf on " not in said
    assert not (tmp_path / "out.xlsx").exists()


def test_a_folder_with_several_csvs_names_them(tmp_path, capsys):
    for name in ("monday.csv", "tuesday.csv"):
        (tmp_path / name).write_text("id,description\n1,steel watch\n", encoding="utf-8")
    assert main(["classify", str(tmp_path)]) == EXIT_DATA
    said = capsys.readouterr().err
    assert "holds 2 CSV files (monday.csv, tuesday.csv): which one is the batch?" in said
    assert "tfidf on " not in said  # said before the classifier loads, or trains
    for day in ("wednesday", "thursday", "friday", "saturday"):
        (tmp_path / f"{day}.csv").write_text("id,description\n1,steel watch\n", encoding="utf-8")
    assert main(["classify", str(tmp_path)]) == EXIT_DATA
    assert "holds 6 CSV files (friday.csv, monday.csv, saturday.csv, thursday.csv, tuesday.csv, …)" in (
        capsys.readouterr().err)  # five named, the rest said to be there


@pytest.mark.parametrize("content, message", [
    (b"", "batch.csv is empty: it holds no header line and no listings."),
    (b"sku,colour\n1,red\n", "batch.csv has no id column (uniq_id or id)"),
    (b"abc", "batch.csv has no id column (uniq_id or id) and no description or product name column"),
    (b"id;product_name;description\n1;watch;steel\n", "save it as CSV with commas"),
])
def test_a_file_that_is_no_batch_is_said_before_the_classifier_loads(small_data_dir, tmp_path, capsys, content,
                                                                     message):
    path = tmp_path / "batch.csv"
    path.write_bytes(content)
    assert main(["classify", str(path)]) == EXIT_DATA
    said = capsys.readouterr().err
    assert message in said and "tfidf on " not in said
