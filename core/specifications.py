"""The product specifications sellers fill in when they list (type, material, strap, pack size...),
as text a model can read.

The catalogue's CSV keeps them as a Ruby-style hash: ``{"product_specification"=>[{"key"=>"Type", "value"=>"Analog"},
{"value"=>"Free size"}, ...]}``. Every value is kept, except those of the keys in ``LEAKING_KEYS``.
"""
from __future__ import annotations

import re

# "Brand" repeats the brand column, whose presence leaks the label: on the reference data it is given
# for 150 of 150 Home Furnishing listings and 147 of 150 Computers, 11 of 150 Beauty and Personal Care
# and none of 150 Watches. The other keys describe the product itself (a watch has a dial shape), as a
# seller fills them in at listing time.
LEAKING_KEYS = frozenset({"Brand"})
SPECIFICATION_COLUMNS = ("product_specifications", "specifications")
_QUOTED = r'"(?P<{name}>(?:[^"\\]|\\.)*)"'  # a quoted string, escaped quotes allowed
_PAIR = re.compile(r'\{\s*(?:"key"\s*=>\s*' + _QUOTED.format(name="key") + r'\s*,\s*)?"value"\s*=>\s*'
                   + _QUOTED.format(name="value") + r'\s*\}')


def specification_text(raw: str) -> str:
    """The specification values of one listing, in order, separated by spaces (leaking keys left out);
    text not in the catalogue's hash format (a batch file's own column) is read as it is."""
    if "=>" not in (raw or ""):
        return (raw or "").strip()
    return " ".join(m.group("value") for m in _PAIR.finditer(raw or "") if m.group("key") not in LEAKING_KEYS)
