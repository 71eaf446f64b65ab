"""Published figures on the same 1050 listings, which the scenarios are compared with on the Results
page. They are the study's and its peers' numbers, never Vitrine's."""
from __future__ import annotations

# The "Place de Marché" study's test accuracy, per scenario of ours that reproduces its set-up.
STUDY_TEST_ACCURACY = {"densenet121": 0.886, "clip_a": 0.967, "clip_b": 0.957}
STUDY_NOTE = "CLIP model A took 2 min 42 s on a CPU in the study"
# Public results of other approaches on this data set: (approach, test accuracy).
PEER_TEST_ACCURACY = (("TF-IDF + linear SVM", 0.948), ("TF-IDF + a DINOv2 image model, fused", 0.975))
# The best adjusted Rand index of k-means (7 clusters) against the labels that the study's peers report.
PEER_BEST_ARI = 0.69


def study_comparison(scenario: str, test_accuracy: float) -> str:
    """The study's figure for ``scenario`` and our difference to it in points, e.g. '96.7% (+0.4 pts)';
    '—' where the study has no such scenario."""
    study = STUDY_TEST_ACCURACY.get(scenario)
    if study is None:
        return "—"
    return f"{study:.1%} ({(test_accuracy - study) * 100:+.1f} pts)"
