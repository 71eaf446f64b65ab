"""Weights are identified by their content: other weights under the same id never reuse old results,
and a copy of the same weights on another machine (other path, other dates) keeps them."""
import os
import shutil

import pytest
import torch

from core.models import weights
from core.models.weights import file_fingerprint, folder_fingerprint
from tests.tiny_models import save_tiny_clip


def test_other_clip_weights_with_the_same_files_sizes_and_config_get_another_fingerprint(tmp_path):
    first, second = save_tiny_clip(tmp_path / "a", seed=0), save_tiny_clip(tmp_path / "b", seed=1)
    assert sorted(p.stat().st_size for p in first.iterdir()) == sorted(p.stat().st_size for p in second.iterdir())
    assert folder_fingerprint(first, tmp_path) != folder_fingerprint(second, tmp_path)


def test_a_copy_of_the_same_weights_elsewhere_keeps_its_fingerprint(tmp_path):
    original = tmp_path / "densenet121.pth"
    torch.save({"weight": torch.arange(10.0)}, original)
    copy = tmp_path / "elsewhere" / "densenet121.pth"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    os.utime(copy, (1_000_000_000, 1_000_000_000))  # copied on another day
    assert file_fingerprint(copy, tmp_path) == file_fingerprint(original, tmp_path)
    clip = save_tiny_clip(tmp_path / "clip")
    moved = shutil.copytree(clip, tmp_path / "clip-copy")
    assert folder_fingerprint(moved, tmp_path) == folder_fingerprint(clip, tmp_path)


def test_a_file_is_read_once_then_remembered_in_the_cache_folder_until_it_changes(tmp_path, monkeypatch):
    path, cache = tmp_path / "weights.bin", tmp_path / "cache"
    path.write_bytes(b"first weights")
    first = file_fingerprint(path, cache)
    assert (cache / "weights-hashes.json").is_file()
    with monkeypatch.context() as patched:
        patched.setattr(weights.hashlib, "file_digest", lambda *a: pytest.fail("hashed again"))
        assert file_fingerprint(path, cache) == first
    path.write_bytes(b"other weights")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert file_fingerprint(path, cache) != first
