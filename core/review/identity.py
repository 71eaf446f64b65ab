"""Who answers on the review page: on a laptop, the name the operator types; where the app is set up for a
team (Streamlit's ``st.login`` with an OpenID Connect provider), the signed-in account, and no other."""
from __future__ import annotations

from collections.abc import Mapping

from core.errors import ReviewStoreError
from core.review.answer_store import MAX_OPERATOR_CHARS, checked_operator

# The claims that name an account, the most unique first: two people may share a name, not an e-mail.
IDENTITY_CLAIMS = ("email", "preferred_username", "name", "sub")


def signed_in_operator(user: Mapping[str, object]) -> str | None:
    """The operator name of a signed-in account (``st.user``): its first identity claim that the store
    accepts as a name; None when nobody is signed in or the provider gave no claim that names the account."""
    if not user.get("is_logged_in"):
        return None
    for claim in IDENTITY_CLAIMS:
        value = user.get(claim)
        try:
            return checked_operator(value.strip()[:MAX_OPERATOR_CHARS] if isinstance(value, str) else "")
        except ReviewStoreError:  # not set, or not shown as it reads (a bidirectional control, say)
            continue
    return None
