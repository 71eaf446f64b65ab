"""The study's retraining variants as scenarios of their own: each has its own name, stored result
and row in the results table, and the usual protocol (with 5-fold CV inside its train split).

- train share (``+train70``, ``+train90``): the share of listings trained on; the test split shrinks
  or grows to the rest (the study's own 80 % is the scenario itself);
- greyscale (``+greyscale``): scenarios that read photos read them in grey;
- keywords (``+keywords``): text scenarios whose classifier reads the text give the seller guide's
  top words more weight (``core.scenarios.keyword_emphasis``);
- level (``+level2``, ``+level3``): the categories of that level of the tree, as paths
  (``core.hierarchy``), by one classifier over them all (flat) or, with ``+topdown``, the first level's
  classifier and one per parent below it.

A variant's name is its base scenario's name followed by its options, e.g. ``tfidf+train70+keywords``.
"""
from __future__ import annotations

import copy
import re

from core.errors import ScenarioUnavailableError
from core.hierarchy import MAX_LEVEL
from core.scenarios.base import Scenario
from core.split import TRAIN_SHARE

TRAIN_SHARES = (0.7, 0.8, 0.9)
VARIANTS_NOTE = ("Train share: the rest of the listings is the test split. Greyscale: for the scenarios that read "
                 "photos. Keyword weighting: for tfidf and tfidf_specs, whose classifiers read the words; the "
                 "seller guide's top 10 words per category, found on the training texts only, are written three "
                 "times wherever they occur.")
_OPTION = re.compile(r"^train(\d{2})$")
_LEVEL = re.compile(r"^level(\d)$")


def variant(base: Scenario, train_share: float = TRAIN_SHARE, greyscale: bool = False,
            keywords: bool = False, level: int = 1, top_down: bool = False) -> Scenario:
    """``base`` with the given options (``base`` itself when none differs from the study's)."""
    if not any(abs(train_share - share) < 1e-9 for share in TRAIN_SHARES):
        raise ScenarioUnavailableError(f"The train share is one of {', '.join(f'{s:.1f}' for s in TRAIN_SHARES)}; "
                                  f"got {train_share}.")
    if greyscale and not base.reads_photo:
        raise ScenarioUnavailableError(f"{base.name} reads no photo, so it has no greyscale variant.")
    if keywords and not base.supports_keywords:
        raise ScenarioUnavailableError(f"{base.name} has no keyword-weighting variant: only a text classifier that "
                                  "reads the words itself (tfidf, tfidf_specs) can weigh them; CLIP embeds the text "
                                  "before its classifier.")
    if not 1 <= level <= MAX_LEVEL:
        raise ScenarioUnavailableError(f"The level is 1 to {MAX_LEVEL} (deeper levels have too few listings per "
                                       f"category to learn); got {level}.")
    if top_down and level == 1:
        raise ScenarioUnavailableError("Top-down classification needs a level below the first (--level 2 or 3).")
    if top_down and not base.trained:
        raise ScenarioUnavailableError(f"{base.name} learns nothing, so it has no top-down variant.")
    options = _options(train_share, greyscale, keywords, level, top_down)
    if not options:
        return base
    changed = copy.copy(base)
    changed.name = "+".join([base.name, *options])
    changed.description = f"{base.description} ({'; '.join(options.values())})"
    changed.train_share, changed.greyscale, changed.keywords = train_share, greyscale, keywords
    changed.level, changed.top_down = level, top_down
    if top_down and not base.explains_top_down:
        changed.explains_words = changed.compares_explanations = False  # its explanations read one classifier
    changed.runs_in_seconds = False  # run when asked, not whenever the Results page opens
    return changed


def _options(train_share: float, greyscale: bool, keywords: bool, level: int = 1,
             top_down: bool = False) -> dict[str, str]:
    """Each option that differs from the study's: its part of the name, and what it means in words."""
    options = {}
    if abs(train_share - TRAIN_SHARE) > 1e-9:
        options[f"train{round(train_share * 100)}"] = (f"trained on {train_share:.0%} of the listings, tested on "
                                                      f"the other {1 - train_share:.0%}")
    if greyscale:
        options["greyscale"] = "photos in grey"
    if keywords:
        options["keywords"] = "seller-guide keywords weighted x3"
    if level > 1:
        options[f"level{level}"] = f"the categories of level {level} of the tree"
    if top_down:
        options["topdown"] = "top-down: the first level, then one classifier per parent"
    return options


def parse_variant(name: str, bases: dict[str, Scenario]) -> Scenario | None:
    """The scenario a name stands for (a base, or a base with options), or None when it names none."""
    base_name, *options = name.split("+")
    base = bases.get(base_name)
    if base is None:
        return None
    train_share, greyscale, keywords, level, top_down = TRAIN_SHARE, False, False, 1, False
    for option in options:
        if match := _OPTION.match(option):
            train_share = int(match.group(1)) / 100
        elif match := _LEVEL.match(option):
            level = int(match.group(1))
        elif option == "greyscale":
            greyscale = True
        elif option == "keywords":
            keywords = True
        elif option == "topdown":
            top_down = True
        else:
            return None
    try:
        found = variant(base, train_share, greyscale, keywords, level, top_down)
    except ScenarioUnavailableError:
        return None
    return found if found.name == name else None
