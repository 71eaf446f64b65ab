"""Vitrine: the app's entry point and navigation (``streamlit run streamlit_app.py``)."""
import importlib
import sys
from pathlib import Path

import streamlit as st

# The icon is a file shipped in assets/: a Material icon would make the browser fetch a font from outside.
st.set_page_config(page_title="Vitrine: explainable listing classifier",
                   page_icon=str(Path(__file__).parent / "assets" / "icon.png"), layout="wide")

# Import the model stack once, in the first session, before pages run side by side in threads (the
# registry imports each scenario family only when asked for); the first visitor sees why they wait.
MODEL_STACK = ("core.scenarios.clip", "core.scenarios.densenet")
if not all(name in sys.modules for name in MODEL_STACK):
    with st.spinner("Starting Vitrine: loading the model libraries (once, about ten seconds)…"):
        for name in MODEL_STACK:
            importlib.import_module(name)

# The page starts just below the top menu: Streamlit's default leaves about 100 px empty above every title.
st.html("<style>[data-testid='stMainBlockContainer'] {padding-top: 4.5rem}</style>")

# Along the top, in three menus: the pages get the whole width, down to 800 px and below (a sidebar
# would take 300 px of it).
results = st.Page("pages/results.py", title="Results", icon=":material/leaderboard:", default=True)
classify = st.Page("pages/classify.py", title="Classify a batch", icon=":material/playlist_add_check:")
review = st.Page("pages/review.py", title="Operator review", icon=":material/rate_review:")
explain = st.Page("pages/explain.py", title="Explain a new listing", icon=":material/image_search:")
navigation = st.navigation({
    "Study": [
        results,
        st.Page("pages/misclassified.py", title="Misclassified products", icon=":material/report:"),
        st.Page("pages/map.py", title="Map of the listings", icon=":material/scatter_plot:"),
        explain,
        st.Page("pages/compare.py", title="Compare scenarios", icon=":material/compare:"),
    ],
    "Daily work": [
        classify,
        review,
        st.Page("pages/batches.py", title="Batches over time", icon=":material/timeline:"),
        st.Page("pages/list_product.py", title="List a product", icon=":material/add_shopping_cart:"),
        st.Page("pages/guide.py", title="Seller keyword guide", icon=":material/sell:"),
    ],
    "Data and models": [
        st.Page("pages/data.py", title="Data quality", icon=":material/fact_check:"),
        st.Page("pages/models.py", title="Models", icon=":material/deployed_code:"),
    ],
}, position="top")
if navigation.url_path == results.url_path:
    # The app opens on the results: a newcomer is told what it is for and where the daily work starts.
    st.caption("Vitrine files each listing under a category and shows why; below, how its models compare. "
               "The daily work starts at:")
    with st.container(horizontal=True):  # the links on a row of their own: they wrap as one at any width
        for page in (classify, review, explain):
            st.page_link(page, width="content")
navigation.run()
