"""Vitrine: the app's entry point and navigation (``streamlit run streamlit_app.py``)."""
import streamlit as st

# Import the model stack once, in the first session, before pages run side by side in threads.
import core.explain.service  # noqa: F401

st.set_page_config(page_title="Vitrine: explainable listing classifier", page_icon=":material/storefront:",
                   layout="wide")

navigation = st.navigation([
    st.Page("pages/results.py", title="Results", icon=":material/leaderboard:", default=True),
    st.Page("pages/misclassified.py", title="Misclassified products", icon=":material/report:"),
    st.Page("pages/explain.py", title="Explain a new listing", icon=":material/image_search:"),
    st.Page("pages/classify.py", title="Classify a batch", icon=":material/playlist_add_check:"),
    st.Page("pages/review.py", title="Operator review", icon=":material/rate_review:"),
    st.Page("pages/guide.py", title="Seller keyword guide", icon=":material/sell:"),
    st.Page("pages/data.py", title="Data quality", icon=":material/fact_check:"),
])
navigation.run()
