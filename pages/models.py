"""Models: what the models folder holds, getting what is missing (download or import), then running the
scenarios that became runnable."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import VitrineError
from core.escaping import message_markdown, plain_markdown
from core.models.clip import download_clip, import_clip
from core.models.densenet import download_densenet, import_densenet
from core.models.inventory import ModelState, model_states
from core.scenarios.registry import all_scenarios
from pages._shared import StreamlitProgress, dataset_or_stop, run_shown, stored_results, workspace

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


def get_model(state: ModelState, fetch) -> None:
    """Download or import ``state``'s model with ``fetch`` (given a progress callback), then show the page
    anew; the reason, in words, when it fails."""
    progress = StreamlitProgress(f"Getting {state.model_id}")
    try:
        fetch(progress)
    except VitrineError as exc:
        st.error(message_markdown(exc))
        return
    finally:
        progress.close()
    st.session_state["model_added"] = state.model_id
    st.rerun()


st.title("Models")
st.caption("The weights the scenarios read. Nothing is downloaded unless you ask; without internet a download "
           "says so within seconds, and a copy can be imported from a folder instead.")
dataset = dataset_or_stop()
states = model_states(workspace().models, workspace().cache)
st.dataframe(pd.DataFrame([{"model": s.model_id, "kind": s.kind, "state": s.state,
                            "size": f"{s.size_bytes / 1e6:,.0f} MB" if s.size_bytes else "",
                            "fingerprint": s.fingerprint, "where": shown_location(s.location)} for s in states]),
             hide_index=True, width="stretch", column_config={
                 "fingerprint": st.column_config.TextColumn(
                     help="A hash of the weights: results and caches are kept per fingerprint")})
if added := st.session_state.pop("model_added", None):
    st.success(f"{plain_markdown(added)} is in place.")

for state in states:
    if state.state == "present":
        continue
    with st.container(border=True):
        st.subheader(f"{plain_markdown(state.model_id)}: {state.state}", anchor=False)
        st.caption(message_markdown(state.detail))
        download = download_clip if state.kind == "clip" else download_densenet
        if st.button("Download", key=f"download-{state.kind}", help="Needs internet"):
            get_model(state, lambda progress: download(state.model_id, workspace().models, progress)
                      if state.kind == "clip" else download(workspace().models, workspace().cache, progress))
        source = st.text_input("Or import from this machine", key=f"import-{state.kind}",
                               placeholder=IMPORT_HELP[state.kind], help=f"The path of {IMPORT_HELP[state.kind]}")
        if st.button("Import", key=f"import-button-{state.kind}", disabled=not source.strip()):
            get_model(state, lambda progress: import_clip(Path(source.strip()).expanduser(), state.model_id,
                                                          workspace().models)
                      if state.kind == "clip" else import_densenet(Path(source.strip()).expanduser(),
                                                                   workspace().models, workspace().cache))

results = stored_results(dataset)
ready = [s for s in all_scenarios(workspace()).values() if s.name not in results and s.unavailable_reason() is None]
if ready:
    st.subheader("Scenarios that can run now", anchor=False)
    st.caption(f"{plain_markdown(', '.join(s.name for s in ready))}: their models are here and they have no "
               "result on this data yet.")
    if st.button("Run it" if len(ready) == 1 else f"Run these {len(ready)}", type="primary"):
        outcomes = [run_shown(scenario, dataset) for scenario in ready]  # each runs, whatever the others do
        if all(outcome is not None for outcome in outcomes):
            st.rerun()
