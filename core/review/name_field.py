"""The operator-name field of the review page, as one state machine over the page's session state (any
mutable mapping: Streamlit's ``st.session_state``, or a dict in a test) and its address.

Once given, the name is locked until "Change": a field left with the keyboard's focus took the first
shortcut typed ("1") into the name, and every answer after it went under another operator. A name the
answers' store would refuse (an invisible control character in it) stays open to correct. It is locked
in place when taken, since a new field in its stead left the focus in the old one until the page was
drawn again, and the first click after the name was lost; the run after that draws it anew, since a field
locked with the focus still looks focused, with any key typed into it. The name is kept in the address
too, so that a reload, or leaving the page and coming back, keeps it.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from core.errors import ReviewStoreError
from core.review.answer_store import MAX_OPERATOR_CHARS, checked_operator

OPERATOR = "operator_name"  # the name answers are saved under
CHANGING = "changing_operator_name"  # the operator asked to change it
DRAWN = "operator_field"  # how many times the field was drawn anew
TAKEN = "operator_name_taken"  # the name was just taken: "lock in place", then "draw anew"
ADDRESS_KEY = "operator"  # the name's key in the page's address

State = MutableMapping[str, Any]


@dataclass(frozen=True)
class NameField:
    """What this run of the page draws: the name answers go under ("" for none yet), whether the field is
    locked, and the session key of the field as drawn now."""

    operator: str
    locked: bool
    key: str


def field_key(state: State) -> str:
    """The session key of the name field as drawn now."""
    return f"operator-{state.get(DRAWN, 0)}"


def name_field(state: State, address: MutableMapping[str, str]) -> NameField:
    """This run's name field: the name from the session, else from the address; locked once given (unless
    being changed); drawn anew the run after it was taken; the address made to hold the name in force."""
    operator = state.setdefault(OPERATOR, address.get(ADDRESS_KEY, "").strip()[:MAX_OPERATOR_CHARS])
    locked = _usable(operator) and not state.get(CHANGING)
    taken = state.pop(TAKEN, None)
    if taken == "lock in place":
        state[TAKEN] = "draw anew"
    elif taken == "draw anew":
        _draw_anew(state)
    if locked or field_key(state) not in state:
        state[field_key(state)] = operator
    if locked and address.get(ADDRESS_KEY) != operator:  # back in the address after a visit to another page
        address[ADDRESS_KEY] = operator
    return NameField(operator, locked, field_key(state))


def take_name(state: State, address: MutableMapping[str, str]) -> None:
    """The name typed in the field becomes the one answers go under, and the field is locked in place."""
    name = state[field_key(state)].strip()
    state[OPERATOR], state[CHANGING] = name, False
    if _usable(name):
        state[TAKEN] = "lock in place"
        address[ADDRESS_KEY] = name
    else:  # none, or one the store refuses (the page says why): the field stays open to correct it
        address.pop(ADDRESS_KEY, None)


def change_name(state: State) -> None:
    """The field opens again, drawn anew so that it starts from the name answers go under."""
    state[CHANGING] = True
    _draw_anew(state)


def name_refusal(name: str) -> str | None:
    """Why the answers' store would refuse answers under ``name`` (none given, an invisible character in it),
    before the operator answers anything; None when it takes them."""
    try:
        checked_operator(name)
    except ReviewStoreError as exc:
        return str(exc)
    return None


def _usable(name: str) -> bool:
    """Whether answers can be saved under ``name``."""
    return name_refusal(name) is None


def _draw_anew(state: State) -> None:
    """The field is a new one from here on: drawn next, it shows the name as the session holds it."""
    state[DRAWN] = state.get(DRAWN, 0) + 1
