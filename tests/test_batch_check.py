"""Whether a batch looks like the listings the review cut-off was calibrated on."""
import numpy as np
import pandas as pd
import pytest

from core.batch_check import ALPHA, MIN_LISTINGS, BatchCheck, BatchReference, check_batch, unknown_share
from core.cli import main
from core.split import assign_split


def test_unknown_words_are_counted_as_tfidf_reads_them():
    vocabulary = frozenset({"cotton", "towel"})
    assert unknown_share("Cotton TOWEL, soft", vocabulary) == pytest.approx(1 / 3)  # "soft" is unknown
    assert np.isnan(unknown_share("?! 1", vocabulary))  # no word of two characters or more


def test_a_batch_like_the_reference_passes_and_a_less_sure_one_is_flagged():
    rng = np.random.default_rng(0)
    reference = BatchReference(rng.beta(8, 1, 400))
    like = check_batch(reference, rng.beta(8, 1, 300))
    assert like.checked and not like.unlike and "its guarantee applies" in like.line()
    unsure = check_batch(reference, rng.beta(3, 2, 300))
    assert unsure.unlike and unsure.line() == (
        "this batch is unlike the calibration data (the model is less sure of them than usual): its accepted "
        "share and precision are not guaranteed")


def test_a_surer_batch_is_no_alarm_and_a_small_batch_is_not_judged():
    rng = np.random.default_rng(1)
    reference = BatchReference(rng.beta(3, 2, 400))
    assert not check_batch(reference, rng.beta(20, 1, 300)).unlike  # only less sure counts
    small = check_batch(reference, np.full(MIN_LISTINGS - 1, 0.1))
    assert not small.checked and not small.unlike and "too few classified listings" in small.line()
    thin = check_batch(BatchReference(np.full(28, 0.9)), np.full(100, 0.1))  # the sample's test split: 28
    assert not thin.checked and thin.line() == ("whether the batch is like the calibration data is not checked: the "
                                                "data set's test split has 28 classified listings to compare it "
                                                "with, and it takes 30")


def test_unknown_words_flag_a_batch_whose_confidence_looks_usual():
    rng = np.random.default_rng(2)
    confidences = rng.beta(8, 1, 400)
    reference = BatchReference(confidences, frozenset({"a"}), rng.uniform(0, 0.1, 400))
    flagged = check_batch(reference, rng.beta(8, 1, 200), rng.uniform(0.3, 0.6, 200))
    assert flagged.unlike and "more words the model never learnt" in flagged.line()
    assert "less sure" not in flagged.line()


def test_a_listing_without_text_has_no_unknown_share_rather_than_a_full_one():
    vocabulary = frozenset({"towel"})
    assert np.isnan(unknown_share(None, vocabulary)) and np.isnan(unknown_share("", vocabulary))


def test_the_reference_keeps_the_classified_confidences_and_learns_its_words_from_the_training_texts():
    confidence_only = BatchReference.build(np.array([0.9, np.nan, 0.8]))
    assert confidence_only.confidences.tolist() == [0.9, 0.8]  # NaN: not classified
    assert confidence_only.vocabulary is None and confidence_only.unknown_shares is None
    assert BatchReference.build([0.9], texts=["towel"]).vocabulary is None  # no training texts: no word test
    reference = BatchReference.build([0.9, np.nan], texts=["Cotton towel", "soft towel", "?!", "bath robe"],
                                     training_texts=iter(["COTTON towel", "bath mat"]))
    assert reference.confidences.tolist() == [0.9]
    assert reference.vocabulary == frozenset({"cotton", "towel", "bath", "mat"})
    assert reference.unknown_shares.tolist() == [0.0, 0.5, 0.5]  # "?!" has no word: left out


def test_exactly_the_fewest_listings_are_checked_and_too_few_are_counted_in_the_line():
    reference = BatchReference(np.linspace(0.5, 1, MIN_LISTINGS))
    assert check_batch(reference, np.linspace(0.5, 1, MIN_LISTINGS)).checked  # 30 and 30: enough
    small = check_batch(reference, np.append(np.full(MIN_LISTINGS - 1, 0.9), np.nan))
    assert small.line() == ("too few classified listings (29) to check whether the batch is like the calibration "
                            "data (it takes 30)")
    assert BatchCheck(10, reference=MIN_LISTINGS).line().startswith("too few classified listings (10)")
    shares = np.linspace(0, 0.2, MIN_LISTINGS)
    with_words = check_batch(BatchReference(np.linspace(0.5, 1, 400), frozenset(), np.linspace(0, 0.2, 400)),
                             np.linspace(0.5, 1, 300), shares)
    assert with_words.words_p is not None  # 30 listings with words: the word test is run too


def test_the_level_is_split_between_the_tests_run():
    # A batch a little less sure than the reference: p about 0.008, under ALPHA but over ALPHA / 2.
    reference = BatchReference(np.linspace(0.5, 1, 400), frozenset({"a"}), np.linspace(0, 0.2, 400))
    unsure = np.linspace(0.5, 1, 300) - 0.0575
    alone = check_batch(reference, unsure)
    assert ALPHA / 2 < alone.confidence_p < ALPHA and alone.words_p is None
    assert alone.unlike  # one test: the whole level
    both = check_batch(reference, unsure, np.linspace(0, 0.2, 300))
    assert both.words_p > ALPHA and not both.unlike  # two tests: half the level each
    assert both.line() == "the batch looks like the listings the cut-off was calibrated on, so its guarantee applies"
    wordy = check_batch(reference, np.linspace(0.5, 1, 300), np.linspace(0, 0.2, 300) + 0.023)
    assert ALPHA / 2 < wordy.words_p < ALPHA and not wordy.unlike
    # Unlike by one test, the line names that one only, not the other at p about 0.008.
    by_words = check_batch(reference, unsure, np.linspace(0.3, 0.6, 300))
    assert by_words.line() == ("this batch is unlike the calibration data (their texts use more words the model "
                               "never learnt than usual): its accepted share and precision are not guaranteed")
    by_confidence = check_batch(reference, np.linspace(0.2, 0.6, 300), np.linspace(0, 0.2, 300) + 0.023)
    assert by_confidence.line() == ("this batch is unlike the calibration data (the model is less sure of them than "
                                    "usual): its accepted share and precision are not guaranteed")


def test_fewer_unknown_words_than_usual_are_no_alarm_and_the_line_names_each_reason():
    reference = BatchReference(np.linspace(0.5, 1, 400), frozenset({"a"}), np.linspace(0, 0.2, 400))
    familiar = check_batch(reference, np.linspace(0.5, 1, 300), np.linspace(0, 0.1, 300))
    assert not familiar.unlike  # only more unknown words count
    assert check_batch(BatchReference(np.linspace(0.5, 1, 400)), np.linspace(0.5, 1, 300),
                       np.full(300, 0.9)).words_p is None  # a reference without words: no word test
    words = check_batch(reference, np.linspace(0.5, 1, 300), np.linspace(0.3, 0.6, 300))
    assert words.line() == ("this batch is unlike the calibration data (their texts use more words the model never "
                            "learnt than usual): its accepted share and precision are not guaranteed")
    both = check_batch(reference, np.linspace(0.2, 0.6, 300), np.linspace(0.3, 0.6, 300))
    assert both.line() == ("this batch is unlike the calibration data (the model is less sure of them than usual and "
                           "their texts use more words the model never learnt than usual): its accepted share and "
                           "precision are not guaranteed")


def _false_alarms_and_detections(dataset, tmp_path):
    """Batches of 60 test-split listings (new to the stored classifier) and the same batches shuffled."""
    test = dataset.listings[assign_split(dataset.listings) == "test"]
    rng = np.random.default_rng(3)
    alarms = detections = 0
    words = " ".join(test["description"].fillna("")).split()
    for k in range(10):
        batch = test.sample(60, random_state=k)[["uniq_id", "product_name", "description"]]
        alarms += _unlike(batch, tmp_path / f"same{k}.csv")
        batch["description"] = [" ".join(rng.choice(words, 40)) for _ in range(len(batch))]
        batch["product_name"] = [" ".join(rng.choice(words, 4)) for _ in range(len(batch))]
        detections += _unlike(batch, tmp_path / f"shuffled{k}.csv")
    return alarms, detections


def _unlike(batch: pd.DataFrame, path) -> bool:
    batch.to_csv(path, index=False)
    out = path.with_suffix(".out.csv")
    assert main(["classify", str(path), "--out", str(out), "--review-unlike"]) == 0
    frame = pd.read_csv(out)
    unlike = frame["status"].str.contains("batch unlike the calibration data, sent to review whole")
    assert unlike.all() == frame["needs_review"].all() or not unlike.any()
    return bool(unlike.all())


def test_held_out_batches_pass_and_shuffled_texts_are_sent_to_review_whole(reference_dataset, tmp_path, capsys):
    if len(reference_dataset.listings) < 1000:
        pytest.skip("needs the full reference data: the sample's test split is too small for batches of 60")
    alarms, detections = _false_alarms_and_detections(reference_dataset, tmp_path)
    assert alarms <= 1 and detections == 10
    assert "this batch is unlike the calibration data" in capsys.readouterr().out


def test_a_batch_without_the_specifications_the_scenario_reads_is_told_so(small_data_dir, tmp_path, capsys):
    batch = tmp_path / "batch.csv"
    batch.write_text("id,product_name,description\nn1,Wrist watch,analog wrist watch strap\n", encoding="utf-8")
    assert main(["classify", str(batch), "--scenario", "tfidf_specs", "--out", str(tmp_path / "a.csv")]) == 0
    assert "tfidf_specs reads the specifications sellers filled in, and this batch has no column of them" in \
        capsys.readouterr().out
    assert main(["classify", str(batch), "--scenario", "tfidf", "--out", str(tmp_path / "b.csv")]) == 0
    assert "specifications" not in capsys.readouterr().out  # tfidf reads none
