"""The study's retraining variants as scenarios of their own: each has its own name, stored result
and row in the results table, and the usual protocol (with 5-fold CV inside its train split).

- train share (``+train70``, ``+train90``): the share of listings trained on; the test split shrinks
  or grows to the rest (the study's own 80 % is the scenario itself);
- greyscale (``+greyscale``): scenarios that read photos read them in grey;
- keywords (``+keywords``): text scenarios whose classifier reads the text give the seller guide's
  top words more weight (``core.scenarios.keyword_emphasis``).

A variant's name is its base scenario's name followed by its options, e.g. ``tfidf+train70+keywords``.
"""
from __future__ import annotations

import copy
import re

from core.errors import ScenarioUnavailableError
from core.scenarios.base import Scenario
from core.split import TRAIN_SHARE

TRAIN_SHARES = (0.7, 0.8, 0.9)
VARIANTS_NOTE = ("Train share: the rest of the listings is the test split. Greyscale: for the scenarios that read "
                 "photos. Keyword weighting: for tfidf and tfidf_specs, whose classifiers read the words; the "
                 "seller guide's top 10 words per category, found on the training texts only, are written three "
                 "times wherever they occur.")
_OPTION = re.compile(r"^train(\d{2})$")


def variant(base: Scenario, train_share: float = TRAIN_SHARE, greyscale: bool = False,
            keywords: bool = False) -> Scenario:
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
    options = _options(train_share, greyscale, keywords)
    if not options:
        return base
    changed = copy.copy(base)
    changed.name = "+".join([base.name, *options])
    changed.description = f"{base.description} ({'; '.join(options.values())})"
    changed.train_share, changed.greyscale, changed.keywords = train_share, greyscale, keywords
    changed.runs_in_seconds = False  # run when asked, not whenever the Results page opens
    return changed


def _options(train_share: float, greyscale: bool, keywords: bool) -> dict[str, str]:
    """Each option that differs from the study's: its part of the name, and what it means in words."""
    options = {}
    if abs(train_share - TRAIN_SHARE) > 1e-9:
        options[f"train{round(train_share * 100)}"] = (f"trained on {train_share:.0%} of the listings, tested on "
                                                      f"the other {1 - train_share:.0%}")
    if greyscale:
        options["greyscale"] = "photos in grey"
    if keywords:
        options["keywords"] = "seller-guide keywords weighted x3"
    return options


def parse_variant(name: str, bases: dict[str, Scenario]) -> Scenario | None:
    """The scenario a name stands for (a base, or a base with options), or None when it names none."""
    base_name, *options = name.split("+")
    base = bases.get(base_name)
    if base is None:
        return None
    train_share, greyscale, keywords = TRAIN_SHARE, False, False
    for option in options:
        if match := _OPTION.match(option):
            train_share = int(match.group(1)) / 100
        elif option == "greyscale":
            greyscale = True
        elif option == "keywords":
            keywords = True
        else:
            return None
    try:
        found = variant(base, train_share, greyscale, keywords)
    except ScenarioUnavailableError:
        return None
    return found if found.name == name else None
