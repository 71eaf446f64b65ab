"""DenseNet121 baseline: loading rules, feature cache, head training and Grad-CAM, with no downloads."""
import dataclasses
import time

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.actions.explain import ScenarioExplanations
from core.cli import EXIT_UNAVAILABLE, main
from core.errors import ImageError, ModelMissingError, NoPhotoError
from core.evaluation import evaluate
from core.explain.display import overlay, photo_heatmap
from core.explain.gradcam import densenet_gradcam
from core.images import open_image
from core.models import densenet
from core.models.densenet import download_densenet, load_densenet
from core.scenarios.densenet import DenseNetScenario, MirrorAugmentedHead
from core.workspace import Workspace
from tests.conftest import split_accuracy
from tests.tiny_models import monotonic_densenet, save_random_densenet

SMALL = 64  # resolution for tests: the same network, 12x fewer pixels


@pytest.fixture(scope="session")
def random_densenet_file(tmp_path_factory):
    return save_random_densenet(tmp_path_factory.mktemp("densenet") / "densenet121.pth")


@pytest.fixture
def imported_densenet(random_densenet_file, capsys):
    assert main(["models", "import", "densenet", str(random_densenet_file)]) == 0
    capsys.readouterr()


def test_missing_weights_fail_fast_and_say_how_to_get_them(capsys):
    workspace = Workspace.from_environment()
    start = time.perf_counter()
    with pytest.raises(ModelMissingError, match="models download densenet"):
        load_densenet(workspace.models, workspace.cache)
    assert time.perf_counter() - start < 2
    assert main(["run", "densenet121"]) == EXIT_UNAVAILABLE
    assert "densenet121 cannot run: DenseNet121 ImageNet weights are not on this machine" in capsys.readouterr().err


def test_download_failure_is_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(densenet, "WEIGHTS_URL", "http://127.0.0.1:9/densenet121-a639ec97.pth")
    with pytest.raises(ModelMissingError, match="Could not download the DenseNet121 weights"):
        download_densenet(tmp_path / "models", tmp_path / "cache")


def test_import_refuses_a_file_that_is_not_densenet(tmp_path, capsys):
    bogus = tmp_path / "weights.pth"
    bogus.write_bytes(b"not a state dict")
    assert main(["models", "import", "densenet", str(bogus)]) == EXIT_UNAVAILABLE
    error = capsys.readouterr().err
    assert "is not a DenseNet121 state dict" in error
    assert "weights_only" not in error  # torch's advice to load the file unsafely is never passed on
    assert main(["models", "import", "densenet", str(tmp_path / "nowhere.pth")]) == EXIT_UNAVAILABLE
    assert "nowhere.pth does not exist" in capsys.readouterr().err


def _scenario(**options) -> DenseNetScenario:
    """The scenario in this test's workspace (a private work folder, ``tests.conftest``)."""
    workspace = Workspace.from_environment()
    return DenseNetScenario(workspace.models, workspace.cache, **options)


def _slice(reference_dataset, per_category=8):
    """The first listings of each category, the first of all without a photo (as the loader leaves a
    missing file; the shipped sample has a photo for every listing)."""
    listings = reference_dataset.listings.groupby("category").head(per_category).reset_index(drop=True)
    listings.loc[0, ["image_path", "image_sha"]] = None
    return dataclasses.replace(reference_dataset, listings=listings)


def test_head_trains_on_cached_features_and_skips_listings_without_photo(imported_densenet, reference_dataset):
    subset = _slice(reference_dataset)
    scenario = _scenario(image_size=SMALL)
    first = evaluate(scenario, subset).result
    assert first.skipped == 1 and len(first.predictions) == len(subset.listings) - 1
    assert "1 listing(s) have no usable photo: left out" in first.notes[0]
    assert first.computed == len(subset.listings) - 1 and first.cache_hits == 0
    assert first.test_accuracy == pytest.approx(split_accuracy(first.predictions))
    assert 0.0 <= first.cv_mean <= 1.0  # CV accuracy, not log loss (which was negative)
    again = evaluate(scenario, subset).result
    assert again.cache_hits == first.computed and again.computed == 0
    assert again.predictions.equals(first.predictions)


def test_explaining_a_listing_without_photo_says_so_and_is_no_photo_error(imported_densenet, reference_dataset):
    subset = _slice(reference_dataset)
    explanations = ScenarioExplanations(_scenario(image_size=SMALL), subset, Workspace.from_environment())
    without_photo = subset.missing_images["uniq_id"].iloc[0]
    with pytest.raises(NoPhotoError, match="reads only the photo") as raised:
        explanations.explain_listing(without_photo)
    assert not isinstance(raised.value, ImageError)  # nothing is wrong with a photo: there is none


def _positive_head():
    head = make_pipeline(StandardScaler(), LogisticRegression()).fit(np.random.rand(30, 1024), ["a", "b", "c"] * 10)
    head[0].mean_, head[0].scale_ = np.zeros(1024), np.ones(1024)
    head[-1].coef_ = np.vstack([np.ones(1024), np.zeros(1024), -np.ones(1024)]) / 1024
    return head


def _photo_with_bright_patch(on_left: bool) -> Image.Image:
    photo = Image.new("RGB", (300, 100), "black")
    photo.paste(Image.new("RGB", (80, 100), "white"), (0 if on_left else 220, 0))
    return photo


@pytest.mark.parametrize("on_left", [True, False])
def test_gradcam_lands_on_the_right_part_of_a_padded_photo(on_left):
    photo = _photo_with_bright_patch(on_left)
    heatmap = densenet_gradcam(monotonic_densenet(), _positive_head(), photo, target="a", image_size=SMALL)
    values = photo_heatmap(photo, heatmap.photo_grid)
    assert values.shape == (100, 300)
    assert values.min() >= 0.0 and values.max() == pytest.approx(1.0)
    left, right = values[:, :80].mean(), values[:, 220:].mean()
    assert (left > right + 0.05) if on_left else (right > left + 0.05)
    assert heatmap.target == "a" and sum(heatmap.probabilities.values()) == pytest.approx(1.0)


def test_gradcam_explains_the_predicted_class_by_default_and_overlays():
    photo = _photo_with_bright_patch(True)  # black and white: any colour in the overlay is the heatmap's
    # At full resolution (a 7x7 grid, not 2x2) the map has hot and cold parts to tell apart.
    heatmap = densenet_gradcam(monotonic_densenet(), _positive_head(), photo, image_size=224)
    assert heatmap.target == max(heatmap.probabilities, key=heatmap.probabilities.get)
    values = photo_heatmap(photo, heatmap.photo_grid)
    shown = overlay(photo, values, opacity=0.6)
    assert shown.size == photo.size and shown.mode == "RGB"
    rgb = np.asarray(shown, dtype=float)
    colour = rgb.max(axis=2) - rgb.min(axis=2)  # chroma: 0 on the grey photo, the heatmap's tint otherwise
    hot, cold = values > 0.6, values < 0.3
    assert hot.any() and cold.any()
    assert colour[hot].mean() > 2 * colour[cold].mean()  # the tint is where Grad-CAM is, not all over
    assert np.corrcoef(colour.ravel(), values.ravel())[0, 1] > 0.8


def test_mirror_augmentation_trains_on_twice_the_photos(imported_densenet, reference_dataset):
    subset = _slice(reference_dataset, per_category=6)
    fitted = evaluate(_scenario(image_size=SMALL, augment=True), subset)
    result = fitted.result
    with_photo = len(subset.listings) - 1
    assert result.computed == 2 * with_photo  # each photo and its mirror image
    assert isinstance(fitted.estimator, MirrorAugmentedHead)
    train = (result.predictions["split"] == "train").sum()
    assert fitted.estimator.estimator_[0].n_samples_seen_ == 2 * train
    assert len(result.predictions) == with_photo
    assert _scenario(augment=True).weights_fingerprint() != _scenario().weights_fingerprint()


def test_fast_feature_path_gives_the_plain_loops_features():
    import torch
    from torchvision.models import densenet121

    from core.models.densenet import FastFeatureExtractor, pooled_features

    torch.manual_seed(0)
    network = densenet121(weights=None).eval()
    for module in network.modules():  # batch norms with real statistics, so folding them matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    pixels = torch.randn(3, 3, SMALL, SMALL)
    with torch.no_grad():
        plain = pooled_features(network, pixels).numpy()
    fast = FastFeatureExtractor(network)(pixels)
    np.testing.assert_allclose(fast, plain, rtol=1e-4, atol=1e-5)
    assert not isinstance(network.features.transition1[2], torch.nn.AvgPool2d)  # the original is untouched


def test_fine_tuning_the_last_block_with_early_stopping_and_gradcam(imported_densenet, reference_dataset):
    from core.actions.explain import ScenarioExplanations
    from core.models.densenet_finetune import FineTunedDenseNetHead
    from core.workspace import Workspace

    subset = _slice(reference_dataset, per_category=12)
    scenario = _scenario(image_size=SMALL, fine_tune=True)
    steps = []
    fitted = evaluate(scenario, subset, progress=lambda done, total, message: steps.append(message))
    result = fitted.result
    assert isinstance(fitted.estimator, FineTunedDenseNetHead)
    assert 1 <= fitted.estimator.epochs_ <= fitted.estimator.max_epochs
    assert "fine-tuning the last dense block" in steps
    assert len(result.predictions) == len(subset.listings) - 1 and result.cv_mean is not None
    workspace = Workspace.from_environment()
    workspace.results_store().save(scenario, result, fitted.estimator)
    listing = subset.listings.dropna(subset=["image_path"]).iloc[0]
    explanation = ScenarioExplanations(scenario, subset, workspace).explain_listing(listing["uniq_id"])
    photo = open_image(listing["image_path"])
    assert photo_heatmap(photo, explanation.photo_grid).shape == (photo.height, photo.width)
