"""The CLIP explanation engine: shapes, sums, word merging, escaping, and faithfulness measured on
a tiny CLIP trained inside the test on the reference train split."""
import dataclasses
import html
import re

import numpy as np
import pytest
import torch
from PIL import Image

from core.explain.clip_relevance import ClassHead, ClipRelevance
from core.explain.display import highlighted_html, photo_heatmap, top_words
from core.explain.faithfulness import faithfulness_table, measure_listing
from core.images import open_image
from core.models.clip import load_clip
from core.split import assign_split
from core.text import model_a_text, model_b_text
from core.workspace import Workspace
from tests.conftest import needs_reference_data
from tests.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    return load_clip(str(save_tiny_clip(tmp_path_factory.mktemp("clip"))), work / "models", work / "cache")


def random_relevance(tiny, prepare=model_a_text, classes=("a", "b", "c")):
    rng = np.random.default_rng(0)
    head = ClassHead(rng.normal(size=(len(classes), 16)), rng.normal(size=(len(classes), 16)),
                     np.zeros(len(classes)), list(classes))
    return ClipRelevance(tiny.model, tiny.processor, head, prepare)


def test_maps_cover_the_photo_and_words_share_one(tiny):
    photo = Image.new("RGB", (300, 120), "red")
    explanation = random_relevance(tiny).relevance([(photo, "Steel analog wrist watch, black strap.")])[0]
    assert explanation.photo_grid.shape == (7, 7)  # raw: one value per patch, as the model saw them
    heat = photo_heatmap(photo, explanation.photo_grid)
    assert heat.shape == (120, 300)
    assert 0.0 <= heat.min() and heat.max() == pytest.approx(1.0)
    assert [w.word for w in explanation.words] == ["Steel", "analog", "wrist", "watch", "black", "strap"]
    assert sum(w.score for w in explanation.words) == pytest.approx(1.0)
    assert explanation.target == max(explanation.probabilities, key=explanation.probabilities.get)
    assert sum(explanation.probabilities.values()) == pytest.approx(1.0)


def test_any_class_can_be_explained_and_a_listing_without_photo_gets_words_only(tiny):
    explanation = random_relevance(tiny).relevance([(None, "cotton baby towel")], ["c"])[0]
    assert explanation.target == "c" and explanation.photo_grid is None
    assert sum(w.score for w in explanation.words) == pytest.approx(1.0)


@pytest.mark.parametrize("description", [
    "Rs. 1,299.00 (pack of 2) -- anti-wrinkle!!",
    "साड़ी cotton 日本語 emoji 😀🎉 ok",
    "x" * 3 + " 42 3.5mm 100%",
])
def test_words_are_merged_back_with_their_positions(tiny, description):
    words = random_relevance(tiny).relevance([(None, description)])[0].words
    for word in words:
        assert description[word.start:word.end] == word.word
    assert sum(w.score for w in words) == pytest.approx(1.0)


def test_words_past_the_77_token_window_are_marked_not_seen(tiny):
    description = " ".join(f"word{i}" for i in range(200))
    words = random_relevance(tiny).relevance([(None, description)])[0].words
    unseen = [w for w in words if not w.seen]
    assert unseen and words[0].seen and not words[-1].seen
    assert all(w.score == 0 for w in unseen)
    assert sum(w.score for w in words) == pytest.approx(1.0)


def test_model_b_relevance_lands_on_the_description_as_written(tiny):
    description = "Soft, washable (cotton) towel!"
    words = random_relevance(tiny, prepare=model_b_text).relevance([(None, description)])[0].words
    assert [(w.word, description[w.start:w.end]) for w in words] == [
        ("Soft", "Soft"), ("washable", "washable"), ("cotton", "cotton"), ("towel", "towel")]


def test_one_autograd_call_gives_the_same_maps_as_one_per_layer(tiny):
    clip = random_relevance(tiny)
    photo = Image.effect_noise((90, 60), 40).convert("RGB")
    [fast] = clip.relevance([(photo, "steel watch for men")])
    [naive] = clip.relevance([(photo, "steel watch for men")], per_layer_gradients=True)
    np.testing.assert_allclose(fast.photo_grid, naive.photo_grid, rtol=1e-5)
    np.testing.assert_allclose([w.score for w in fast.words], [w.score for w in naive.words], rtol=1e-5)


def test_a_batch_explains_each_listing_as_it_is_explained_alone(tiny):
    clip = random_relevance(tiny)
    listings = [(Image.effect_noise((90, 60), 40).convert("RGB"), "steel watch for men"),
                (None, "soft cotton baby towel, pack of two, machine washable"),  # longer: the others are padded
                (Image.new("RGB", (40, 80), "blue"), "mug")]
    targets = [None, "c", "a"]
    together = clip.relevance(listings, targets)
    for (photo, description), target, batched in zip(listings, targets, together):
        [alone] = clip.relevance([(photo, description)], [target])
        assert batched.target == alone.target and (batched.photo_grid is None) == (photo is None)
        assert batched.probabilities == pytest.approx(alone.probabilities, abs=1e-6)
        np.testing.assert_allclose([w.score for w in batched.words], [w.score for w in alone.words], atol=1e-5)
        if photo is not None:
            np.testing.assert_allclose(batched.photo_grid, alone.photo_grid, rtol=1e-4, atol=1e-7)


def test_description_html_is_escaped_and_scaled(tiny):
    description = '<script>alert("x")</script> <b>steel</b> watch'
    words = random_relevance(tiny).relevance([(None, description)])[0].words
    shown = highlighted_html(description, words)
    assert "<script>" not in shown and "<b>" not in shown
    visible = re.sub(r"</?(span|div)[^>]*>", "", shown)
    assert visible == html.escape(description)
    assert shown.count("<span") == len(words) == 8
    opacities = [float(v) for v in re.findall(r"rgba\(15,118,110,([0-9.]+)\)", shown)]
    assert max(opacities) == pytest.approx(0.85)
    table = top_words(random_relevance(tiny).relevance([(None, description)])[0].words, count=3)
    assert list(table.columns) == ["word", "score"] and len(table) == 3


def _train_tiny_classifier(tiny, dataset, per_category=40, epochs=4):
    """Train the tiny CLIP's towers and a class head on part of the train split (a few seconds)."""
    listings = dataset.listings[assign_split(dataset.listings) == "train"]
    listings = listings[listings["image_path"].notna()].groupby("category").head(per_category)
    classes = dataset.categories
    clip = ClipRelevance(tiny.model, tiny.processor,
                              ClassHead(np.zeros((7, 16)), np.zeros((7, 16)), np.zeros(7), classes), model_a_text)
    pixels = torch.cat([clip.pixels(open_image(p, max_side=256)) for p in listings["image_path"]])
    tokens = tiny.processor.tokenizer(listings["description"].tolist(), padding=True, truncation=True,
                                      max_length=77, return_tensors="pt")
    labels = torch.tensor([classes.index(c) for c in listings["category"]])
    model = clip.model
    parameters = list(model.parameters()) + list(clip.head.parameters())
    optimiser = torch.optim.Adam(parameters, lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(labels), generator=generator).split(28):
            image = model.visual_projection(model.vision_model(pixel_values=pixels[batch]).pooler_output)
            text_out = model.text_model(input_ids=tokens["input_ids"][batch],
                                        attention_mask=tokens["attention_mask"][batch])
            logits = clip.head(image, model.text_projection(text_out.pooler_output))
            loss = torch.nn.functional.cross_entropy(logits, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    return clip


def test_relevance_ordered_word_deletion_beats_random_on_a_model_trained_on_the_reference_data(
        tmp_path, reference_dataset):
    torch.manual_seed(0)
    workspace = Workspace.from_environment()
    tiny = load_clip(str(save_tiny_clip(tmp_path, seed=3)), workspace.models, workspace.cache)
    clip = _train_tiny_classifier(tiny, reference_dataset)
    test = reference_dataset.listings[assign_split(reference_dataset.listings) == "test"]
    test = test[test["image_path"].notna()].groupby("category").head(3)
    rng = np.random.default_rng(0)
    rows = []
    for _, listing in test.iterrows():
        rows += measure_listing(clip, open_image(listing["image_path"]), listing["description"], rng,
                                alternatives=False)
    table = faithfulness_table(rows).set_index(["modality", "method"])["mean"]
    assert table["words", "relevance"] < table["words", "random"]


COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}


def _square_on_grey(colour: str, rng) -> Image.Image:
    photo = Image.new("RGB", (200, 140), (128, 128, 128))
    photo.paste(Image.new("RGB", (40, 40), COLOURS[colour]), (int(rng.integers(0, 160)), int(rng.integers(0, 100))))
    return photo


def test_relevance_ordered_patch_deletion_beats_random_where_the_evidence_is_local(tmp_path):
    """Two minutes of training cannot teach a 32-wide ViT the reference photos (it stays near
    chance), so the photo side is measured on a task it learns in seconds: the class is the colour
    of a square placed anywhere on a non-square photo."""
    torch.manual_seed(0)
    workspace = Workspace.from_environment()
    tiny = load_clip(str(save_tiny_clip(tmp_path, seed=3)), workspace.models, workspace.cache)
    classes = list(COLOURS)
    clip = ClipRelevance(tiny.model, tiny.processor,
                              ClassHead(np.zeros((3, 16)), np.zeros((3, 16)), np.zeros(3), classes), model_a_text)
    rng = np.random.default_rng(0)
    labels = [classes[i % 3] for i in range(150)]
    pixels = torch.cat([clip.pixels(_square_on_grey(c, rng)) for c in labels])
    targets = torch.tensor([classes.index(c) for c in labels])
    vision = tiny.model.vision_model
    optimiser = torch.optim.Adam([*vision.parameters(), *tiny.model.visual_projection.parameters(),
                                  clip.head.image_weight, clip.head.bias], lr=3e-3)
    vision.train()
    for _ in range(6):
        for batch in torch.randperm(150).split(25):
            image = tiny.model.visual_projection(vision(pixel_values=pixels[batch]).pooler_output)
            loss = torch.nn.functional.cross_entropy(clip.head(image, torch.zeros(len(batch), 16)), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    vision.eval()
    clip.head.text_weight.data.zero_()
    rows, correct = [], 0
    for i in range(12):
        photo = _square_on_grey(classes[i % 3], rng)
        correct += clip.relevance([(photo, "a product")])[0].target == classes[i % 3]
        rows += measure_listing(clip, photo, "a product", rng, alternatives=False)
    assert correct >= 10  # it did learn the task
    table = faithfulness_table(rows).set_index(["modality", "method"])["mean"]
    assert table["photo", "relevance"] < table["photo", "random"] - 0.02


@needs_reference_data  # boilerplate is judged by its share of all listings: the sample's 140 are too few
def test_keywords_per_category_from_tfidf_explanations(reference_dataset):
    from core.actions.explain import ScenarioExplanations, relevance_keywords
    from core.explain.keywords import tfidf_coefficient_keywords
    from core.scenarios.tfidf import TfidfScenario
    from core.workspace import Workspace

    listings = reference_dataset.listings
    subset = dataclasses.replace(reference_dataset, listings=listings.groupby("category").head(25)
                                 .reset_index(drop=True))
    explanations = ScenarioExplanations(TfidfScenario(), subset, Workspace.from_environment())
    table = relevance_keywords(explanations, top=5)
    watches = table[table["category"] == "Watches"]["word"].tolist()
    assert "watch" in watches or "watches" in watches
    assert not set(table["word"]) & {"the", "and", "com", "only", "buy"}
    assert (table.groupby("category").size() <= 5).all() and table["listings"].min() >= 5
    coefficients = tfidf_coefficient_keywords(explanations.estimator, subset.listings, top=3)
    assert len(coefficients) == 3 * len(subset.categories)
    # Advice a seller can use: no stop words ("watch for"), no shop boilerplate ("from flipkart", "com buy").
    words = {word for term in coefficients["word"] for word in term.split()}
    assert not words & {"for", "from", "only", "com", "buy", "flipkart", "details", "discounts"}


def test_the_guide_advises_describing_words_not_the_shops_template():
    from core.explain.keywords import is_advice

    kept = ["baby girl", "analog watch", "ceramic mug", "combo set", "router"]
    left_out = ["great discounts", "details", "ideal", "lowest prices", "usb usb", "sales package", "the", "2016",
                "brandx"]
    assert [term for term in kept + left_out if is_advice(term, boilerplate={"brandx"})] == kept


def test_explanations_are_cached_per_listing_and_class(reference_dataset, monkeypatch):
    from core.actions.explain import ScenarioExplanations
    from core.scenarios.tfidf import TfidfScenario
    from core.workspace import Workspace

    subset = dataclasses.replace(reference_dataset, listings=reference_dataset.listings.groupby("category")
                                 .head(10).reset_index(drop=True))
    explanations = ScenarioExplanations(TfidfScenario(), subset, Workspace.from_environment())
    uniq_id = subset.listings["uniq_id"][0]
    first = explanations.explain_listing(uniq_id)
    cached = list(explanations.cache.glob("*.joblib"))
    assert len(cached) == 1
    with monkeypatch.context() as patched:
        patched.setattr(explanations.attributor, "attribute", lambda *a, **k: pytest.fail("computed again"))
        assert explanations.explain_listing(uniq_id).probabilities == first.probabilities  # read from the cache
    other = explanations.explain_listing(uniq_id, target="Watches")
    assert other.target == "Watches" and len(list(explanations.cache.glob("*.joblib"))) == 2
    description = subset.listings["description"][0]
    for word in first.words:
        assert description[word.start:word.end] == word.word


def test_faithfulness_from_the_cli(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("VITRINE_CLIP_MODEL", "tiny-for-faithfulness")
    assert main(["models", "import", "clip", str(save_tiny_clip(tmp_path / "m")), "--model",
                 "tiny-for-faithfulness"]) == 0
    assert main(["explain", "faithfulness", "--limit", "2", "--no-alternatives"]) == 0
    out = capsys.readouterr().out
    assert "relevance" in out and "random" in out and "photo" in out and "words" in out


def test_one_action_explains_new_listings_beside_the_data_sets_and_keeps_only_the_data_sets(reference_dataset):
    from core.actions.explain import ScenarioExplanations
    from core.explain.base import ListingInput
    from core.scenarios.tfidf import TfidfScenario
    from core.workspace import Workspace

    subset = dataclasses.replace(reference_dataset, listings=reference_dataset.listings.groupby("category")
                                 .head(10).reset_index(drop=True))
    explanations = ScenarioExplanations(TfidfScenario(), subset, Workspace.from_environment())
    uniq_id = subset.listings["uniq_id"][1]
    new = ListingInput(None, "Steel watch", "analog wrist watch with a leather strap")
    outcomes = list(explanations.explain_listings([new, uniq_id], targets=[None, "Watches"]))
    assert [listing for listing, _ in outcomes] == [new, uniq_id]
    fresh, stored = outcomes[0][1], outcomes[1][1]
    # A new listing is classified here; one of the data set keeps the probabilities its results show.
    assert fresh.probabilities == explanations.attributor.predict_proba(None, new.name, new.description)
    assert fresh.target == fresh.predicted and stored.target == "Watches"
    assert stored.probabilities == explanations.result.probabilities_of(uniq_id)
    assert [w.word for w in fresh.words] == ["analog", "wrist", "watch", "with", "leather", "strap"]  # tfidf skips "a"
    assert len(list(explanations.cache.glob("*.joblib"))) == 1  # the new listing is kept nowhere
    assert explanations.explain_listing(new).words == fresh.words


def test_a_sub_categorys_keywords_are_what_separates_it_from_its_siblings():
    from core.explain.keywords import contrasted_coefficients

    classes = ["Home > Bed Linen", "Home > Curtains", "Home > Cushions", "Watches > Wrist"]
    # columns: "home" (every Home sub-category has it), "bedsheet", "curtain", "dial"
    coefficients = np.array([[2.0, 1.5, -0.5, 0.0], [2.0, -0.5, 1.5, 0.0], [2.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 3.0]])
    found = contrasted_coefficients(classes, coefficients)
    assert found["Home > Bed Linen"].tolist() == [0.0, 1.75, -1.25, 0.0]  # "home" separates nothing
    assert np.argmax(found["Home > Curtains"]) == 2
    assert found["Watches > Wrist"].tolist() == [0.0, 0.0, 0.0, 3.0]  # no sibling: its own coefficients
    first_level = contrasted_coefficients(["Home", "Watches"], coefficients[[0, 3]])
    assert first_level["Home"].tolist() == [2.0, 1.5, -0.5, 0.0]  # the first level: no parent, no contrast
