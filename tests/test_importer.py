"""Importing a dataset: only what an import wrote is ever replaced; nothing else is deleted."""
import os
import zipfile

import pytest

from core import archive
from core.cli import EXIT_DATA, main
from core.errors import DatasetError
from core.importer import MANIFEST_NAME, import_dataset
from core.locations import CSV_NAME
from tests.conftest import listing_row, write_dataset


def _original_layout(folder, prefix="W", photos=("0",)):
    """A folder in the original layout (CSV + Images/), two categories of 5 listings."""
    rows = [listing_row(f"{prefix}{c}{i}", c) for c in ("Watches", "Computers") for i in range(5)]
    source = write_dataset(folder, rows)
    (source / "images").rename(source / "Images")
    for i in photos:
        (source / "Images" / f"{prefix}Watches{i}.jpg").write_bytes(f"photo {prefix}{i}".encode())
    return source


def _zip_of(folder, path):
    with zipfile.ZipFile(path, "w") as z:
        z.write(folder / CSV_NAME, f"Flipkart/{CSV_NAME}")
        for photo in (folder / "Images").iterdir():
            z.write(photo, f"Flipkart/Images/{photo.name}")
    return path


def _leftovers(parent):
    return [p.name for p in parent.iterdir() if "importing" in p.name]


def test_unrelated_files_in_the_destination_are_kept(tmp_path):
    destination = tmp_path / "data"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine")
    dataset = import_dataset(_original_layout(tmp_path / "src"), destination)
    assert len(dataset.listings) == 10
    assert (destination / "notes.txt").read_text() == "mine"
    assert (destination / "images" / "WWatches0.jpg").read_bytes() == b"photo W0"
    assert _leftovers(tmp_path) == []


def test_a_zip_kept_in_the_destination_imports_and_stays(tmp_path):
    destination = tmp_path / "data"
    destination.mkdir()
    upload = _zip_of(_original_layout(tmp_path / "src"), destination / "upload.zip")
    before = upload.read_bytes()
    assert len(import_dataset(upload, destination).listings) == 10
    assert upload.read_bytes() == before
    assert (destination / "images" / "WWatches0.jpg").is_file()


def test_replace_removes_only_the_files_the_previous_import_wrote(tmp_path):
    destination = tmp_path / "data"
    import_dataset(_original_layout(tmp_path / "first", prefix="A", photos=("0", "1")), destination)
    (destination / "keep.txt").write_text("mine")
    (destination / "images" / "mine.jpg").write_bytes(b"my photo")
    second = _original_layout(tmp_path / "second", prefix="B")
    with pytest.raises(DatasetError, match="--replace"):
        import_dataset(second, destination)
    dataset = import_dataset(second, destination, replace=True)
    assert set(dataset.listings["uniq_id"]) == {f"B{c}{i}" for c in ("Watches", "Computers") for i in range(5)}
    assert sorted(p.name for p in (destination / "images").iterdir()) == ["BWatches0.jpg", "mine.jpg"]
    assert (destination / "keep.txt").read_text() == "mine"
    assert (destination / "images" / "mine.jpg").read_bytes() == b"my photo"
    assert _leftovers(tmp_path) == []


def test_a_dataset_no_import_wrote_is_never_replaced(tmp_path):
    destination = write_dataset(tmp_path / "data", [listing_row(f"X{i}", "Watches") for i in range(5)])
    before = (destination / CSV_NAME).read_bytes()
    with pytest.raises(DatasetError, match="not imported here"):
        import_dataset(_original_layout(tmp_path / "src"), destination, replace=True)
    assert (destination / CSV_NAME).read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_a_file_no_import_wrote_is_never_overwritten(tmp_path):
    destination = tmp_path / "data"
    (destination / "images").mkdir(parents=True)
    (destination / "images" / "WWatches0.jpg").write_bytes(b"someone else's")
    with pytest.raises(DatasetError, match="images/WWatches0.jpg"):
        import_dataset(_original_layout(tmp_path / "src"), destination)
    assert (destination / "images" / "WWatches0.jpg").read_bytes() == b"someone else's"
    assert sorted(p.name for p in destination.iterdir()) == ["images"]
    assert _leftovers(tmp_path) == []


def test_a_failed_import_leaves_the_destination_as_it_was(tmp_path):
    destination = tmp_path / "data"
    import_dataset(_original_layout(tmp_path / "first", prefix="A"), destination)
    before = {p.relative_to(destination): p.read_bytes() for p in destination.rglob("*") if p.is_file()}
    broken = _original_layout(tmp_path / "broken", prefix="B")
    (broken / CSV_NAME).write_text("uniq_id,description\nB1,text\n")
    with pytest.raises(DatasetError, match="missing the column"):
        import_dataset(broken, destination, replace=True)
    assert {p.relative_to(destination): p.read_bytes() for p in destination.rglob("*") if p.is_file()} == before
    assert _leftovers(tmp_path) == []


def test_a_damaged_import_record_deletes_nothing(tmp_path):
    destination = tmp_path / "data"
    import_dataset(_original_layout(tmp_path / "first", prefix="A"), destination)
    (destination / MANIFEST_NAME).write_text('{"files": ["../../elsewhere.txt"]}')
    with pytest.raises(DatasetError, match="damaged"):
        import_dataset(_original_layout(tmp_path / "second", prefix="B"), destination, replace=True)
    assert (destination / "images" / "AWatches0.jpg").is_file()


def _link_outside(source, link, outside):
    """Replace ``source/link`` by a symbolic link to a file or folder outside the source."""
    target = source / link
    if target.exists():
        target.rename(outside / target.name)
        target.symlink_to(outside / target.name)
    else:  # a photo the CSV names, pointing at any file on the machine
        target.symlink_to(outside / "passwords.jpg")


@pytest.mark.parametrize("link", ["Images/WWatches1.jpg", CSV_NAME, "Images"])
def test_a_symbolic_link_in_the_source_folder_is_refused_by_name(tmp_path, link):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwords.jpg").write_text("not for the dataset")
    source = _original_layout(tmp_path / "src")
    _link_outside(source, link, outside)
    destination = tmp_path / "data"
    with pytest.raises(DatasetError, match=f"symbolic links \\({link}\\)"):
        import_dataset(source, destination)
    assert not destination.exists() and _leftovers(tmp_path) == []



def _zip_with_photo(tmp_path, photo: bytes, compression=zipfile.ZIP_STORED):
    """A zip in the original layout whose one photo is ``photo``."""
    source = _original_layout(tmp_path / "src", photos=())
    upload = tmp_path / "upload.zip"
    with zipfile.ZipFile(upload, "w") as z:
        z.write(source / CSV_NAME, f"Flipkart/{CSV_NAME}")
        z.writestr(zipfile.ZipInfo(PHOTO), photo, compress_type=compression)
    return upload


PHOTO = "Flipkart/Images/WWatches0.jpg"


def _patch(upload, local_field: int | None = None, central_field: int | None = None, value: bytes = b"",
           data_byte: int | None = None):
    """Overwrite a field of the photo's local header and of its central directory entry, or one byte of
    its data (offsets as in the zip specification)."""
    data = bytearray(upload.read_bytes())
    local = zipfile.ZipFile(upload).getinfo(PHOTO).header_offset
    central = data.index(b"PK\x01\x02", data.index(PHOTO.encode(), local + 30))
    while data[central + 46:central + 46 + len(PHOTO)] != PHOTO.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    if data_byte is not None:
        start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + int.from_bytes(
            data[local + 28:local + 30], "little")
        data[start + data_byte] ^= 0xFF
    else:
        data[local + local_field:local + local_field + len(value)] = value
        data[central + central_field:central + central_field + len(value)] = value
    upload.write_bytes(bytes(data))


def _bomb(tmp_path, monkeypatch):
    return _zip_with_photo(tmp_path, bytes(20 * archive.MB), zipfile.ZIP_DEFLATED)


def _large_photo(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_PHOTO_BYTES", 1000)
    return _zip_with_photo(tmp_path, os.urandom(2000))


def _large_in_all(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 3000)
    return _zip_with_photo(tmp_path, os.urandom(4000))


def _encrypted(tmp_path, monkeypatch):
    made = _zip_with_photo(tmp_path, b"photo bytes")
    _patch(made, local_field=6, central_field=8, value=b"\x01\x00")
    return made


def _bad_crc(tmp_path, monkeypatch):
    made = _zip_with_photo(tmp_path, b"photo bytes")
    _patch(made, data_byte=3)
    return made


def _unknown_method(tmp_path, monkeypatch):
    made = _zip_with_photo(tmp_path, b"photo bytes")
    _patch(made, local_field=8, central_field=10, value=(99).to_bytes(2, "little"))
    return made


def _truncated(tmp_path, monkeypatch):
    made = _zip_with_photo(tmp_path, os.urandom(4000))
    made.write_bytes(made.read_bytes()[:3000])
    return made


@pytest.mark.parametrize("make, says", [
    (_bomb, "zip bomb"),
    (_large_photo, "larger than 0.001 MB, the most accepted for a photo"),
    (_large_in_all, "larger than 0.003 MB in all"),
    (_encrypted, "password-protected"),
    (_bad_crc, "damaged (Bad CRC-32"),
    (_unknown_method, "packed with a method Vitrine cannot read"),
    (_truncated, "not a readable zip file"),
])
def test_a_hostile_or_broken_zip_is_one_line_and_exit_code_3(tmp_path, monkeypatch, capsys, make, says):
    destination = tmp_path / "data"
    monkeypatch.setenv("VITRINE_DATA_DIR", str(destination))
    assert main(["data", "import", str(make(tmp_path, monkeypatch))]) == EXIT_DATA
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0]
    assert not destination.exists() and _leftovers(tmp_path) == []


def test_a_photo_over_the_limit_in_a_folder_is_refused_as_it_is_copied(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_PHOTO_BYTES", 1000)
    source = _original_layout(tmp_path / "src")
    (source / "Images" / "WWatches1.jpg").write_bytes(bytes(1001))
    with pytest.raises(DatasetError, match="Images/WWatches1.jpg is larger than"):
        import_dataset(source, tmp_path / "data")
    assert not (tmp_path / "data").exists() and _leftovers(tmp_path) == []
