"""CLIP loading, embedding, caching and the three CLIP scenarios, on a tiny CLIP saved locally."""
import dataclasses
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from torchvision.transforms.v2.functional import pil_to_tensor

from core.actions.explain import ScenarioExplanations
from core.cli import EXIT_UNAVAILABLE, main
from core.clip_tokenizer import CONTEXT_LENGTH
from core.dataset import load_dataset
from core.embeddings import clip_embedder
from core.embeddings.clip_embedder import ClipEmbedder, clip_pixels, embed_text_list
from core.embeddings.clip_fast import equivalent_copy
from core.embeddings.clip_forward import image_features, text_features
from core.embeddings.photo_embeddings import embed_photos
from core.embeddings.streams import ComputeStreams
from core.errors import ModelMissingError
from core.evaluation import evaluate
from core.images import open_image, to_square
from core.locations import REPO_ROOT
from core.models.clip import download_clip, load_clip
from core.scenarios.clip import clip_scenarios
from core.scenarios.registry import all_scenarios
from core.workspace import Workspace
from tests.conftest import split_accuracy
from tests.tiny_models import save_tiny_clip

TINY = "tiny-clip-test"


@pytest.fixture(scope="session")
def tiny_clip_folder(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture
def tiny_clip(tiny_clip_folder, monkeypatch, capsys):
    """The tiny CLIP imported through the CLI, as a user would, and configured as the CLIP to use."""
    assert main(["models", "import", "clip", str(tiny_clip_folder), "--model", TINY]) == 0
    capsys.readouterr()
    monkeypatch.setenv("VITRINE_CLIP_MODEL", TINY)
    workspace = Workspace.from_environment()
    return load_clip(TINY, workspace.models, workspace.cache)


def test_missing_weights_fail_fast_with_the_commands_that_fix_it(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ModelMissingError) as error:
        load_clip("openai/clip-vit-base-patch32", tmp_path / "models", tmp_path / "cache")
    assert time.perf_counter() - start < 5
    assert "python -m core models download clip" in str(error.value)
    assert "python -m core models import clip DIR" in str(error.value)


def test_cli_says_why_a_clip_scenario_cannot_run(capsys):
    assert main(["run", "clip_a"]) == EXIT_UNAVAILABLE
    assert "clip_a cannot run: CLIP weights for openai/clip-vit-base-patch32 are not on this machine" in (
        capsys.readouterr().err)


def test_download_without_network_says_so(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelMissingError, match="Could not download"):
        download_clip("openai/clip-vit-base-patch32", tmp_path / "models")


def test_import_refuses_a_folder_without_a_model(tmp_path, capsys):
    assert main(["models", "import", "clip", str(tmp_path)]) == EXIT_UNAVAILABLE
    assert "does not hold a saved CLIP model" in capsys.readouterr().err
    assert main(["models", "import", "clip", str(tmp_path / "nowhere")]) == EXIT_UNAVAILABLE
    assert f"{tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("x")
    assert main(["models", "import", "clip", str(tmp_path / "a-file")]) == EXIT_UNAVAILABLE
    assert "a-file is a file: give the folder" in capsys.readouterr().err


def test_embeddings_are_normalised_and_the_fast_path_stays_close_to_fp32(tiny_clip, reference_dataset):
    photos = [open_image(p) for p in reference_dataset.listings["image_path"].dropna()[:4]]
    texts = reference_dataset.listings["description"][:4].tolist()
    fast, exact = ClipEmbedder(tiny_clip, fast=True), ClipEmbedder(tiny_clip, fast=False)
    for vectors in (fast.embed_images(photos), fast.embed_texts(texts)):
        assert vectors.shape == (4, 16)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # A 32-wide random model is far more sensitive to int8 than ViT-B/32 (0.99+ in the benchmark).
    assert (fast.embed_images(photos) * exact.embed_images(photos)).sum(1).min() > 0.97
    assert (fast.embed_texts(texts) * exact.embed_texts(texts)).sum(1).min() > 0.97


def test_exact_path_gives_transformers_own_features(tiny_clip, reference_dataset):
    """The pooled-token last layer and the mask-free padding change nothing but float rounding."""
    photos = [open_image(p) for p in reference_dataset.listings["image_path"].dropna()[:3]]
    texts = ["steel wrist watch", reference_dataset.listings["description"][0], "a mug"]
    model, processor = tiny_clip.model, tiny_clip.processor
    with torch.no_grad():
        pixels = clip_pixels(processor.image_processor, photos)
        expected_images = model.get_image_features(pixel_values=pixels).pooler_output
        tokens = processor.tokenizer(texts, padding=True, truncation=True, max_length=CONTEXT_LENGTH,
                                     return_tensors="pt")
        expected_texts = model.get_text_features(**tokens).pooler_output
    normalise = torch.nn.functional.normalize
    exact = ClipEmbedder(tiny_clip, fast=False)
    np.testing.assert_allclose(exact.embed_images(photos), normalise(expected_images, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(exact.embed_texts(texts), normalise(expected_texts, dim=-1).numpy(), atol=1e-5)


def test_rewrites_of_the_fast_path_keep_the_features(tiny_clip, reference_dataset):
    """Patch embedding as a Linear layer and the folded activation change nothing before int8."""
    photos = [open_image(p) for p in reference_dataset.listings["image_path"].dropna()[:2]]
    ids = ClipEmbedder(tiny_clip).padded_ids([[49406, 320, 1125, 539, 320, 2368, 49407]])
    rewritten = equivalent_copy(tiny_clip.model)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in rewritten.modules())
    assert any(isinstance(m, torch.nn.SiLU) for m in rewritten.modules())
    with torch.no_grad():
        pixels = clip_pixels(tiny_clip.processor.image_processor, photos)
        for features, inputs in ((image_features, pixels), (text_features, ids)):
            np.testing.assert_allclose(features(rewritten, inputs).numpy(), features(tiny_clip.model, inputs).numpy(),
                                       atol=1e-5)


def test_streams_keep_order_and_leave_torch_threads_as_they_were():
    streams = ComputeStreams(2)
    assert streams.map(lambda x: (x, torch.get_num_threads()), range(6)) == [(x, 1) for x in range(6)]
    seen_by_a_new_thread = []
    thread = threading.Thread(target=lambda: seen_by_a_new_thread.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert seen_by_a_new_thread == [torch.get_num_threads()]


def test_concurrent_callers_get_the_same_embeddings(tiny_clip, reference_dataset):
    texts = reference_dataset.listings["description"][:40].tolist()
    embedder = ClipEmbedder(tiny_clip)
    alone = embedder.embed_texts(texts)
    with ThreadPoolExecutor(3) as callers:
        for together in callers.map(lambda _: embedder.embed_texts(texts), range(3)):
            np.testing.assert_array_equal(together, alone)


def test_photos_resized_where_they_were_decoded_reach_the_model_as_the_processor_makes_them(tiny_clip,
                                                                                          reference_dataset):
    embedder = ClipEmbedder(tiny_clip)
    photos = [open_image(path) for path in reference_dataset.listings["image_path"].dropna().head(4)]
    photos += [Image.new("RGB", (50, 30), (200, 10, 90)), Image.new("RGB", (900, 1300), (10, 200, 90))]
    squares = [pil_to_tensor(to_square(photo)[0]) for photo in photos]  # smaller and larger than the model's
    processor = embedder.image_processor
    finished = [embedder.sized_for_model(square) for square in squares]
    assert {tuple(square.shape) for square in finished} == {(3, 224, 224)}
    assert torch.equal(processor(images=finished, return_tensors="pt")["pixel_values"],
                       processor(images=squares, return_tensors="pt")["pixel_values"])


def test_texts_tokenised_ahead_embed_as_the_texts_themselves(tiny_clip, reference_dataset):
    embedder = ClipEmbedder(tiny_clip)
    texts = list(reference_dataset.listings["description"].head(20))
    ahead = embedder.tokenised(texts)
    mixed = [ahead[i] if i % 2 else text for i, text in enumerate(texts)]
    np.testing.assert_array_equal(embedder.embed_texts(mixed), embedder.embed_texts(texts))


def test_text_is_cut_at_77_tokens_and_padding_changes_nothing(tiny_clip):
    embedder = ClipEmbedder(tiny_clip, fast=False)
    long_text = " ".join(f"word{i}" for i in range(300))
    assert len(embedder.token_ids([long_text])[0]) == CONTEXT_LENGTH
    alone, with_more_words = embedder.embed_texts([long_text]), embedder.embed_texts([long_text + " extra words"])
    np.testing.assert_allclose(alone, with_more_words, atol=1e-6)
    short = "steel wrist watch"
    batched = embedder.embed_texts([short, long_text])[0]
    np.testing.assert_allclose(embedder.embed_texts([short])[0], batched, atol=1e-5)


def test_cache_hits_misses_and_invalidation(tiny_clip, reference_dataset, tmp_path, monkeypatch):
    listings = reference_dataset.listings.dropna(subset=["image_path"]).head(3)
    paths, keys = listings["image_path"].tolist(), listings["image_sha"].tolist()
    embedder = ClipEmbedder(tiny_clip)
    cache = Workspace.from_environment().cache
    first = embed_photos(embedder, cache, paths, keys)
    assert (first.cache_hits, first.computed) == (0, 3)
    again = embed_photos(embedder, cache, paths, keys)
    assert (again.cache_hits, again.computed) == (3, 0)
    np.testing.assert_array_equal(first.vectors, again.vectors)
    texts = embed_text_list(embedder, cache, ["a", "b", "a"])
    assert (texts.cache_hits, texts.computed) == (0, 2)
    assert embed_text_list(embedder, cache, ["a", "c"]).computed == 1
    # other preprocessing: recomputed
    monkeypatch.setattr(clip_embedder, "PREPROCESSING_VERSION", "changed")
    assert embed_photos(embedder, cache, paths, keys).computed == 3
    # other weights: recomputed
    other = load_clip(str(save_tiny_clip(tmp_path / "other", seed=1)), tmp_path / "models", cache)
    assert embed_photos(ClipEmbedder(other), cache, paths, keys).computed == 3


def test_three_clip_scenarios_end_to_end_on_a_slice(tiny_clip, reference_dataset):
    listings = reference_dataset.listings.groupby("category").head(12).reset_index(drop=True)
    listings.loc[0, ["image_path", "image_sha"]] = None  # a listing without a photo, as the loader leaves it
    subset = dataclasses.replace(reference_dataset, listings=listings)
    workspace = Workspace.from_environment()
    by_name = {s.name: s for s in clip_scenarios(workspace.models, workspace.cache)}
    for name in ("clip_a", "clip_b", "clip_zero_shot"):
        result = evaluate(by_name[name], subset).result
        assert len(result.predictions) == len(subset.listings) and result.skipped == 0
        assert result.test_accuracy == pytest.approx(split_accuracy(result.predictions))
        np.testing.assert_allclose(result.probabilities().sum(axis=1), 1.0, rtol=1e-6)
        assert any("1 listing(s) have no usable photo" in note for note in result.notes)
        assert (result.cv_mean is None) == (name == "clip_zero_shot")
        if result.cv_mean is not None:  # an accuracy, like the column it is shown in
            assert 0.0 <= result.cv_mean <= 1.0 and 0.0 <= result.cv_std <= 0.5


def test_clip_run_from_the_cli_on_text_only_listings(tiny_clip, small_data_dir, capsys):
    assert main(["run", "clip_a", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    stored = Workspace.from_environment().results_store().latest("clip_a", load_dataset().fingerprint)
    assert row["scenario"] == "clip_a" and row["test_accuracy"] == split_accuracy(stored.predictions)
    assert main(["run", "clip_a"]) == 0
    assert "stored result reused" in capsys.readouterr().out


def test_a_listings_caption_chart_and_explanation_come_from_the_model_that_classified(tiny_clip, small_data_dir,
                                                                                     capsys):
    assert main(["run", "clip_a"]) == 0  # the fast int8 path classifies
    dataset = load_dataset()
    workspace = Workspace.from_environment()
    explanations = ScenarioExplanations(all_scenarios(workspace)["clip_a"], dataset, workspace)
    result = explanations.result
    for uniq_id in dataset.listings["uniq_id"][:6]:
        stored = result.probabilities_of(uniq_id)
        explanation = explanations.explain_listing(uniq_id)
        assert explanation.probabilities == stored  # what the card's caption and chart show, exactly
        assert explanation.target == max(stored, key=stored.get) == explanation.predicted
        if any(note.startswith("The probabilities are those of the model that classifies") for note in
               explanation.notes):
            assert f"{stored[explanation.target]:.1%}" in explanation.notes[-1]  # the other model, named
    app = AppTest.from_file(str(REPO_ROOT / "pages" / "misclassified.py"), default_timeout=120).run()
    app.radio[0].set_value("all").run()
    assert not app.exception
    captions = [c.value for c in app.caption if c.value.startswith("labelled")]
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert captions and len(captions) == len(charts)
    for caption, chart in zip(captions, charts):
        predicted, shown = re.search(r"predicted \*\*(.+?)\*\* \((\d+)%\)", caption).groups()
        bars = dict(zip(chart["data"][0]["y"], chart["data"][0]["text"]))
        assert bars[predicted] == f"{shown}%"
