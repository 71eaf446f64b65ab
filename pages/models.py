"""Models: what the models folder holds, getting what is missing (download or import), then running the
scenarios that became runnable."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.dataset import Dataset
from core.escaping import message_markdown, plain_markdown
from core.models.clip import download_clip, import_clip
from core.models.densenet import download_densenet, import_densenet
from core.models.inventory import ModelState, model_states
from core.scenarios.registry import all_scenarios
from core.workspace import Workspace
from pages._shared import as_job, dataset_or_stop, run_shown, stored_results, under_way, workspace

IMPORT_HELP = {"clip": "a folder saved with save_pretrained (config.json, model.safetensors, tokenizer and "
                       "preprocessor files)",
               "densenet": "torchvision's densenet121-a639ec97.pth file"}


def shown_location(path: Path) -> str:
    """Where a model lives, relative to the work folder when it is there (no server paths on the page)."""
    root = workspace().root
    try:
        return str(Path(root.name) / path.relative_to(root))
    except ValueError:
        return path.name


def _model_key(state: ModelState) -> str:
    return f"get the {state.kind} model"


def get_model(state: ModelState, fetch) -> None:
    """Download or import ``state``'s model with ``fetch`` (given a progress callback) as a job, or follow the
    one under way (leaving the page does not stop it), then show the page anew; the reason, in words, when
    it fails (as every job says it)."""
    what = f"Getting {plain_markdown(state.model_id)}"
    if as_job(_model_key(state), what, lambda progress: fetch(progress) or True, what) is not None:
        st.session_state["model_added"] = state.model_id
        st.rerun()


def fetch_download(state: ModelState, place: Workspace):
    """How to download ``state``'s model into the workspace, given a progress callback."""
    if state.kind == "clip":
        return lambda progress: download_clip(state.model_id, place.models, progress)
    return lambda progress: download_densenet(place.models, place.cache, progress)


def fetch_import(state: ModelState, source: str, place: Workspace):
    """How to import ``state``'s model from the folder or file ``source``, given a progress callback."""
    path = Path(source.strip()).expanduser()
    if state.kind == "clip":
        return lambda progress: import_clip(path, state.model_id, place.models)
    return lambda progress: import_densenet(path, place.models, place.cache)


def show_inventory(states: list[ModelState]) -> None:
    """Every model: kind, state, size, fingerprint and where it lives."""
    st.dataframe(pd.DataFrame([{"model": s.model_id, "kind": s.kind, "state": s.state,
                                "size": f"{s.size_bytes / 1e6:,.0f} MB" if s.size_bytes else "",
                                "fingerprint": s.fingerprint, "where": shown_location(s.location)} for s in states]),
                 hide_index=True, width="stretch", column_config={
                     "fingerprint": st.column_config.TextColumn(
                         help="A hash of the weights: results and caches are kept per fingerprint")})
    if added := st.session_state.pop("model_added", None):
        st.success(f"{plain_markdown(added)} is in place.")


def missing_model_ui(state: ModelState, place: Workspace) -> None:
    """A model that is not in place: why, a download button and an import from a path on this machine."""
    with st.container(border=True):
        st.subheader(f"{plain_markdown(state.model_id)}: {state.state}", anchor=False)
        st.caption(message_markdown(state.detail))
        # A download under way (asked before leaving the page or by another visitor) is followed, not repeated.
        if st.button("Download", key=f"download-{state.kind}", help="Needs internet") or under_way(_model_key(state)):
            get_model(state, fetch_download(state, place))
        source = st.text_input("Or import from this machine", key=f"import-{state.kind}",
                               placeholder=IMPORT_HELP[state.kind], help=f"The path of {IMPORT_HELP[state.kind]}")
        if st.button("Import", key=f"import-button-{state.kind}", disabled=not source.strip()):
            get_model(state, fetch_import(state, source, place))


def runnable_ui(dataset: Dataset, place: Workspace) -> None:
    """The scenarios whose models are here and that have no result yet, with a button that runs them."""
    results = stored_results(dataset)
    ready = [s for s in all_scenarios(place).values() if s.name not in results and s.unavailable_reason() is None]
    if not ready:
        return
    st.subheader("Scenarios that can run now", anchor=False)
    st.caption(f"{plain_markdown(', '.join(s.name for s in ready))}: their models are here and they have no "
               "result on this data yet.")
    if st.button("Run it" if len(ready) == 1 else f"Run these {len(ready)}", type="primary"):
        outcomes = [run_shown(scenario, dataset) for scenario in ready]  # each runs, whatever the others do
        if all(outcome is not None for outcome in outcomes):
            st.rerun()


def main() -> None:
    """The page: the models, what is missing and how to get it, then what can run now."""
    st.title("Models")
    st.caption("The weights the scenarios read. Nothing is downloaded unless you ask; without internet a download "
               "says so within seconds, and a copy can be imported from a folder instead.")
    dataset = dataset_or_stop()
    place = workspace()
    states = model_states(place.models, place.cache)
    show_inventory(states)
    for state in states:
        if state.state != "present":
            missing_model_ui(state, place)
    runnable_ui(dataset, place)


main()
