"""Importing and loading model weights: nothing Vitrine did not write is ever removed, and a folder that does
not load is said in one line."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from core.cli import EXIT_UNAVAILABLE, main
from core.models.weights import VITRINE_MARK
from core.workspace import Workspace
from tests.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip-import"))


def _precious(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.txt").write_text("years of work", encoding="utf-8")
    return folder


@pytest.mark.parametrize("destination", ["absolute", "home", "parent", "work folder"])
def test_a_model_id_that_names_a_folder_elsewhere_is_refused_and_the_folder_kept(tiny_folder, tmp_path, monkeypatch,
                                                                                 capsys, destination):
    monkeypatch.setenv("HOME", str(_precious(tmp_path / "home")))
    monkeypatch.chdir(_precious(tmp_path / "cwd"))
    model = {"absolute": str(_precious(tmp_path / "mine")), "home": "~", "parent": "..",
             "work folder": "../.."}[destination]
    assert main(["models", "import", "clip", str(tiny_folder), "--model", model]) == EXIT_UNAVAILABLE
    said = capsys.readouterr().err
    assert "is not a model id such as openai/clip-vit-base-patch32" in said and said.count("\n") == 1
    for folder in (tmp_path / "home", tmp_path / "cwd", tmp_path / "mine"):
        assert not folder.exists() or (folder / "thesis.txt").read_text(encoding="utf-8") == "years of work"
    assert Workspace.from_environment().root.is_dir()


def test_a_folder_in_the_models_folder_that_vitrine_did_not_write_is_left_alone(tiny_folder, capsys):
    squatted = _precious(Workspace.from_environment().models / "acme--clip")
    assert main(["models", "import", "clip", str(tiny_folder), "--model", "acme/clip"]) == EXIT_UNAVAILABLE
    assert "holds files Vitrine did not put there" in capsys.readouterr().err
    assert (squatted / "thesis.txt").is_file() and not (squatted / "config.json").exists()


def test_a_model_vitrine_installed_is_replaced_by_the_next_import(tiny_folder, tmp_path, capsys):
    assert main(["models", "import", "clip", str(tiny_folder), "--model", "acme/clip"]) == 0
    installed = Workspace.from_environment().models / "acme--clip"
    assert (installed / VITRINE_MARK).is_file()
    other = save_tiny_clip(tmp_path / "other", seed=1)
    capsys.readouterr()
    assert main(["models", "import", "clip", str(other), "--model", "acme/clip"]) == 0
    assert "(replacing the copy Vitrine had installed there)" in capsys.readouterr().out
    assert (installed / "model.safetensors").read_bytes() == (other / "model.safetensors").read_bytes()


def test_a_file_put_into_an_installed_model_is_never_removed_by_the_next_import(tiny_folder, tmp_path, capsys):
    assert main(["models", "import", "clip", str(tiny_folder), "--model", "acme/clip"]) == 0
    installed = Workspace.from_environment().models / "acme--clip"
    (installed / "notes.txt").write_text("my notes on this model", encoding="utf-8")
    capsys.readouterr()
    other = save_tiny_clip(tmp_path / "other", seed=1)
    assert main(["models", "import", "clip", str(other), "--model", "acme/clip"]) == EXIT_UNAVAILABLE
    assert "holds files Vitrine did not put there (notes.txt)" in capsys.readouterr().err
    assert (installed / "notes.txt").read_text(encoding="utf-8") == "my notes on this model"
    assert (installed / "model.safetensors").read_bytes() == (tiny_folder / "model.safetensors").read_bytes()


def _damaged(tiny_folder, tmp_path, how):
    folder = shutil.copytree(tiny_folder, tmp_path / how)
    if how == "pickle":
        weights = load_file(folder / "model.safetensors")
        (folder / "model.safetensors").unlink()
        torch.save({"payload": print, **weights}, folder / "pytorch_model.bin")  # a pickle with code in it
    elif how == "truncated":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[:len(data) // 2])
    else:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        config["projection_dim"] = 8  # the weights were saved with 16
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize("how, reason", [
    ("pickle", "its weights are a pickle file that cannot be loaded safely"),
    ("truncated", "its model.safetensors is damaged or incomplete"),
    ("shapes", "its weights do not have the shapes its config.json gives"),
])
def test_a_clip_folder_that_does_not_load_is_one_line_and_exit_4(tiny_folder, tmp_path, capsys, how, reason):
    folder = _damaged(tiny_folder, tmp_path, how)
    assert main(["models", "import", "clip", str(folder), "--model", "acme/clip"]) == EXIT_UNAVAILABLE
    captured = capsys.readouterr()
    said = captured.err + captured.out
    assert said.count("\n") == 1 and said.startswith("error: The CLIP copy in ")
    assert reason in said and "Nothing was imported." in said
    assert "weights_only" not in said and "Traceback" not in said and "MISMATCH" not in said
    assert not (Workspace.from_environment().models / "acme--clip").exists()
