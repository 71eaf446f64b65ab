"""The study's published figures, shown beside this run's on the Results page."""
from core.scenarios.registry import all_scenarios
from core.study_figures import STUDY_TEST_ACCURACY, study_comparison
from core.workspace import Workspace


def test_each_study_figure_belongs_to_a_scenario_of_ours():
    assert set(STUDY_TEST_ACCURACY) <= set(all_scenarios(Workspace.from_environment()))


def test_comparison_gives_the_study_figure_and_the_difference_in_points():
    assert study_comparison("clip_a", 0.971) == "96.7% (+0.4 pts)"
    assert study_comparison("densenet121", 0.862) == "88.6% (-2.4 pts)"
    assert study_comparison("tfidf", 0.952) == "—"  # the study had no such scenario
