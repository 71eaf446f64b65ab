"""The review page's operator-name field, step by step, over a plain dict (as the page's session state)."""
from core.review.name_field import change_name, field_key, name_field, take_name


def _type(state, address, text):
    """The operator types into the field as drawn now and leaves it (Enter): the page's on_change."""
    state[field_key(state)] = text
    take_name(state, address)


def test_a_name_is_locked_in_place_then_drawn_anew_and_kept_in_the_address():
    state, address = {}, {}
    first = name_field(state, address)
    assert first.operator == "" and not first.locked
    _type(state, address, "  ana ")
    assert address == {"operator": "ana"}
    locked = name_field(state, address)  # the run the name is taken in: locked where it is, same field
    assert (locked.operator, locked.locked, locked.key) == ("ana", True, first.key)
    assert state[locked.key] == "ana"  # the field shows the name answers go under, not what was typed
    anew = name_field(state, address)  # the run after: a new field, so no focus or stray key stays in it
    assert anew.locked and anew.key != first.key and state[anew.key] == "ana"
    assert name_field(state, address).key == anew.key  # and no more new fields after that


def test_change_reopens_the_field_from_the_name_in_force():
    state, address = {}, {}
    name_field(state, address)
    _type(state, address, "ana")
    name_field(state, address)
    state[field_key(state)] = "ana1"  # a key that reached the locked field before it locked
    before = name_field(state, address)
    change_name(state)
    reopened = name_field(state, address)
    assert not reopened.locked and reopened.key != before.key and state[reopened.key] == "ana"
    _type(state, address, "bea")
    assert name_field(state, address).operator == "bea" and address["operator"] == "bea"


def test_the_address_gives_the_name_after_a_reload_and_gets_it_back_after_another_page():
    state, address = {}, {"operator": "  carl  "}
    field = name_field(state, address)
    assert (field.operator, field.locked) == ("carl", True) and address["operator"] == "carl"
    address.clear()  # another page dropped it from the address
    name_field(state, address)
    assert address == {"operator": "carl"}


def test_a_name_of_spaces_is_no_name_and_leaves_the_address():
    state, address = {}, {"operator": "dan"}
    name_field(state, address)
    change_name(state)
    name_field(state, address)
    _type(state, address, "   ")
    field = name_field(state, address)
    assert field.operator == "" and not field.locked and "operator" not in address


def test_a_name_longer_than_the_store_keeps_is_cut_from_the_address():
    field = name_field({}, {"operator": "x" * 500})
    assert field.operator == "x" * 100


def test_a_name_the_store_refuses_stays_open_and_out_of_the_address():
    state, address = {}, {}
    name_field(state, address)
    _type(state, address, "Ali\u202eecila")  # shows as "Alialice"
    field = name_field(state, address)
    assert field.operator == "Ali\u202eecila" and not field.locked and "operator" not in address
    assert not name_field({}, {"operator": "Ali\u202eecila"}).locked  # nor from a link that carries it
