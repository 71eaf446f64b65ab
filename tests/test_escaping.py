"""Text from the data or from people is shown as written on every page: a category, product, file or
operator name that looks like Markdown or HTML never becomes a link, an outside image, an icon, bold
text or LaTeX, and still reads as itself."""
import html
import json
import re
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from core.dataset import load_dataset
from core.escaping import chart_text, html_text, message_markdown, plain_markdown
from core.locations import REPO_ROOT
from core.review.answer_store import ReviewStore
from tests.conftest import HOSTILE, OPERATOR, listing_row, operator_field, shown, write_dataset


def test_plain_markdown_shows_every_character_as_written():
    text = "\n".join(HOSTILE + ["www.evil.example a@evil.example :red[x] # `code` ~~s~~ | _i_ \\ &amp; 1. - > !"])
    escaped = plain_markdown(text)
    assert shown(escaped) == text
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\.", "", escaped, flags=re.DOTALL))  # all escaped
    assert not re.search(r"https?:|www\.|:material|:red|@evil", escaped)  # no autolink, icon or directive is found


@pytest.mark.parametrize("text", ["\nafter a blank line", "ends in X", "ends in a space "])
def test_plain_markdown_keeps_the_first_and_last_characters(text):
    assert shown(plain_markdown(text)) == text


def test_a_message_keeps_its_code_spans_and_shows_the_data_it_quotes_as_written():
    message = f"Category {HOSTILE[0]!r} is too small; run `python -m core data report`.\nSee {HOSTILE[2]}"
    markdown = message_markdown(message)
    assert "`python -m core data report`" in markdown and shown(markdown) == message
    assert not [p for p in LIVE_IN_MARKDOWN if p.search(re.sub(r"`[^`]*`", "", markdown))]


def test_html_and_chart_text_show_tags_as_text():
    assert html_text('<img src="x" onerror=alert(1)>') == "&lt;img src=&quot;x&quot; onerror=alert(1)&gt;"
    assert chart_text("<a href='http://evil.example'>x</a> & y") == (
        "&lt;a href='http://evil.example'&gt;x&lt;/a&gt; &amp; y")


# Where Streamlit reads text as Markdown: these fields of any element (labels, bodies, captions...).
MARKDOWN_FIELDS = {"body", "label", "caption", "text", "help", "placeholder"}
PLAIN_TEXT_ELEMENTS = {"text", "code", "dataframe", "selectbox", "multiselect", "text_input", "text_area"}
LIVE_IN_MARKDOWN = [
    re.compile(r"(?<!\\)\]\("),  # a link or an image: [text](url), ![alt](url)
    re.compile(r"(?<!\\)<\s*(img|a)\b", re.IGNORECASE),  # HTML
    re.compile(r"(https?:|www\.)\S*evil", re.IGNORECASE),  # a bare URL, linked by Streamlit
    re.compile(re.escape(":material/home:")), re.compile(re.escape("**bold**")), re.compile(re.escape("$x$")),
]
LIVE_IN_HTML = [re.compile(r"<\s*(img|a)\b", re.IGNORECASE)]


def _strings(value, fields: set[str] | None):
    """Every string in a proto's dict, or only those under a key in ``fields``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if fields is None or key in fields or isinstance(item, (dict, list)):
                yield from _strings(item, fields)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, fields)
    elif isinstance(value, str):
        yield value


def live_text(app: AppTest) -> list[str]:
    """Every text on the page that a browser would turn into a link, an image, an icon, bold or LaTeX."""
    found = []
    for node in app:
        proto = getattr(node, "proto", None)
        if proto is None or node.type in PLAIN_TEXT_ELEMENTS:
            continue
        if node.type == "html":
            texts, patterns = [proto.body], LIVE_IN_HTML
        elif node.type == "plotly_chart":  # Plotly reads a few HTML tags in labels and hover text
            texts, patterns = list(_strings(json.loads(proto.spec), None)), LIVE_IN_HTML
        else:
            fields = MARKDOWN_FIELDS | ({"options"} if node.type == "radio" else set())
            # A code span shows its text literally: a command quoting the data stays as written.
            texts = [re.sub(r"`[^`]*`", "", text)
                     for text in _strings(MessageToDict(proto, preserving_proto_field_name=True), fields)]
            patterns = LIVE_IN_MARKDOWN
        found += [f"{node.type}: {text!r}" for text in texts if any(p.search(text) for p in patterns)]
    return found


def page_text(nodes) -> str:
    """Every text of these elements (a page: all of them) as a reader sees it: Markdown without its escapes,
    HTML and chart text without their tags and with their entities decoded, tables and plain-text widgets
    as they are. Text the page escapes is found here as written; text it drops, or lets the browser read
    as markup, is not."""
    texts = []
    for node in nodes:
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        if node.type == "html":
            texts.append(html.unescape(re.sub(r"<[^>]*>", "", proto.body)))
        elif node.type == "plotly_chart":
            texts += [html.unescape(re.sub(r"<[^>]*>", "", text)) for text in _strings(json.loads(proto.spec), None)]
        elif node.type == "dataframe":
            texts.append(node.value.to_csv())
        else:
            fields = None if node.type in PLAIN_TEXT_ELEMENTS else MARKDOWN_FIELDS | {"options"}
            texts += [text if fields is None else shown(text)
                      for text in _strings(MessageToDict(proto, preserving_proto_field_name=True), fields)]
    return "\n".join(texts)


def hostile_names(hostile: dict) -> dict[str, str]:
    """The hostile data set's product names by listing id."""
    return load_dataset(Path(hostile["VITRINE_DATA_DIR"])).listings.set_index("uniq_id")["product_name"].to_dict()


@pytest.fixture
def hostile(hostile_app, monkeypatch):
    for name in ("VITRINE_DATA_DIR", "VITRINE_WORK_DIR", "VITRINE_REVIEW_DB"):
        monkeypatch.setenv(name, hostile_app[name])
    return hostile_app


def run_page(name: str) -> AppTest:
    """The page as the app shows it, through its navigation (the links between pages exist only there)."""
    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=120).run()
    app.switch_page(f"pages/{name}").run()
    assert not app.exception
    return app


def test_every_page_is_covered_here():
    pages = {path.name for path in (REPO_ROOT / "pages").glob("*.py") if not path.name.startswith("_")}
    assert pages == {"results.py", "misclassified.py", "explain.py", "review.py", "guide.py", "data.py",
                     "classify.py", "map.py", "compare.py", "models.py", "list_product.py", "batches.py"}


def test_results_page_shows_hostile_category_names_as_text(hostile):
    app = run_page("results.py")
    assert live_text(app) == []
    assert app.get("plotly_chart")  # the confusion matrix, labelled with the categories
    axes = page_text(app.get("plotly_chart"))
    assert all(category in axes for category in hostile["categories"])


def test_misclassified_page_shows_hostile_names_as_text(hostile):
    app = run_page("misclassified.py")
    app.radio[0].set_value("all").run()
    assert not app.exception and live_text(app) == []
    cards = [shown(c.value) for c in app.caption if c.value.startswith("labelled")]
    assert cards and all(any(f"labelled **{category}**" in card for category in HOSTILE) for card in cards)
    names, text = hostile_names(hostile), page_text(app)
    assert all(names[card.rsplit(" id ", 1)[1]] in text for card in cards)  # each card's product, as written


def test_explain_page_shows_a_hostile_file_name_and_category_as_text(hostile):
    app = run_page("explain.py")
    app.selectbox[0].select("tfidf").run()
    app.text_input[0].input(HOSTILE[0])
    app.text_area[0].input(" ".join(HOSTILE) + " steel signal3")
    app.file_uploader[0].set_value((f"{HOSTILE[1]}.png", b"not a photo", "image/png"))
    next(b for b in app.button if b.label == "Explain").click().run()
    next(s for s in app.selectbox if s.label == "Class to explain").select(HOSTILE[4]).run()
    assert not app.exception and live_text(app) == []
    assert shown(app.error[0].value).startswith(f"{HOSTILE[1]}.png: ")
    assert shown(app.subheader[0].value).startswith("Prediction: ")
    assert any(f"Explaining “{HOSTILE[4]}”" in shown(c.value) for c in app.caption)


def test_review_page_shows_hostile_names_as_text_and_saves_the_category_as_named(hostile):
    app = run_page("review.py")
    operator_field(app).input(OPERATOR).run()
    app.toggle[0].set_value(True).run()  # the model's answer and the data set's label, both categories
    assert not app.exception and live_text(app) == []
    picks = [b for b in app.button if (b.key or "").startswith("pick-")]
    assert [shown(b.label) for b in picks] == hostile["categories"]
    assert any(shown(c.value).startswith("Data set label: **") for c in app.caption)
    next(b for b in picks if shown(b.label) == HOSTILE[0]).click().run()
    app.text_input[1].input(HOSTILE[3])  # in the form: sent with its button
    next(b for b in app.button if b.label == "Save answer").click().run()
    assert not app.exception and live_text(app) == []
    assert shown(app.toast[0].value) == f"Saved: {HOSTILE[0]}"
    latest = ReviewStore(hostile["VITRINE_REVIEW_DB"]).active_answers()[-1]
    assert (latest.operator, latest.category, latest.comment) == (OPERATOR, HOSTILE[0], HOSTILE[3])


def test_review_pages_queue_list_and_guidelines_show_hostile_names_as_text(hostile, monkeypatch):
    monkeypatch.setenv("VITRINE_REVIEW_LEADS", "a lead")  # the operator reads the guidelines, as Markdown
    app = run_page("review.py")
    operator_field(app).input(OPERATOR).run()
    table = next(d for d in app.dataframe if "latest" in d.value.columns)
    app.session_state[table.key] = {"selection": {"rows": [len(table.value) - 1], "columns": []}}
    app.run()  # the product picked in the list opens, with its history
    assert not app.exception and live_text(app) == []
    text = page_text(app)
    assert table.value["product_name"].iloc[-1] in text
    guidelines = next(e for e in app.expander if e.label == "Guidelines for this queue")
    assert all(f"- {category}: " in page_text(guidelines.markdown) for category in hostile["categories"])


def test_map_page_shows_hostile_names_as_text(hostile):
    app = run_page("map.py")
    assert live_text(app) == []
    assert app.get("plotly_chart")  # the map, its legend and hover text naming categories and products
    text = page_text(app)
    assert all(name in text for name in [*hostile["categories"], *hostile_names(hostile).values()])


def test_compare_page_shows_hostile_names_as_text(hostile):
    app = run_page("compare.py")
    assert live_text(app) == []
    assert app.dataframe and app.subheader  # the answers side by side, a column per scenario
    listing = load_dataset(Path(hostile["VITRINE_DATA_DIR"])).listing(app.selectbox[0].value)
    heading = page_text(e for e in app.get("html") if 'class="vitrine-product"' in e.proto.body)
    assert heading == listing["product_name"]
    assert f"Data set label: **{listing['category']}**" in page_text(app)


def test_models_page_shows_a_hostile_model_id_as_text(hostile, monkeypatch):
    monkeypatch.setenv("VITRINE_CLIP_MODEL", HOSTILE[2])
    app = run_page("models.py")
    assert live_text(app) == []
    assert f"{HOSTILE[2]}: " in page_text(app)  # the model's heading, as written


def test_guide_page_shows_hostile_category_names_as_text(hostile):
    app = run_page("guide.py")
    next(s for s in app.selectbox if s.label == "From scenario").select("tfidf").run()  # computed in seconds
    assert live_text(app) == []
    assert sorted(shown(e.label).split(": ")[0] for e in app.expander) == sorted(hostile["categories"])


def test_an_error_quoting_a_hostile_category_shows_it_as_text(tmp_path, monkeypatch):
    rows = [listing_row(f"U{i}", HOSTILE[0]) for i in range(6)] + [listing_row("U9", HOSTILE[1])]
    monkeypatch.setenv("VITRINE_DATA_DIR", str(write_dataset(tmp_path, rows)))
    app = run_page("results.py")  # one category left: the listings cannot be classified, and the page says why
    assert live_text(app) == []
    assert f"only {HOSTILE[0]!r}" in shown(app.error[0].value)


def test_data_page_keeps_a_hostile_folder_name_private_and_names_the_file_as_text(hostile):
    app = run_page("data.py")
    assert live_text(app) == []
    caption = shown(app.caption[0].value)
    assert "evil.example" not in caption and caption.endswith(".csv")  # the server's folders are not shown


def test_classify_page_shows_a_hostile_upload_and_categories_as_text(hostile):
    rows = ["id,product_name,description"] + [
        f'"{text}","{HOSTILE[(i + 1) % 7]}","{HOSTILE[(i + 2) % 7]} steel signal{i}"' for i, text in enumerate(HOSTILE)]
    app = run_page("classify.py")
    next(s for s in app.selectbox if s.label == "Scenario").select("tfidf")  # in the form: sent with it
    app.file_uploader[0].set_value((f"{HOSTILE[0]}.csv", "\n".join(rows).encode(), "text/csv"))
    next(b for b in app.button if b.label == "Classify").click().run()
    assert not app.exception and not app.error and live_text(app) == []
    assert app.dataframe[0].value["id"].tolist() == HOSTILE
    assert shown(app.subheader[0].value) == f"{HOSTILE[0]}.csv, classified by tfidf"
    assert app.get("plotly_chart")
    app.file_uploader[0].set_value((f"{HOSTILE[1]}.csv", b"sku\n1\n", "text/csv"))
    next(b for b in app.button if b.label == "Classify").click().run()
    assert not app.exception and live_text(app) == []
    assert "has no id column" in shown(app.error[0].value)


def test_list_product_page_shows_hostile_categories_text_and_file_name_as_text(hostile):
    app = run_page("list_product.py")
    app.selectbox[0].select("tfidf").run()
    app.file_uploader(key="list_photo").set_value((f"{HOSTILE[1]}.png", b"not a photo", "image/png"))
    app.text_input(key="list_title").input(HOSTILE[0]).run()
    app.text_area(key="list_description").input(" ".join(HOSTILE) + " steel signal3").run()
    predicted = shown(app.subheader[0].value).removeprefix("Vitrine: ").rsplit(" (", 1)[0]
    assert predicted in hostile["categories"]
    chosen = next(c for c in hostile["categories"] if c != predicted)
    app.selectbox(key="list_chosen").select(chosen).run()  # its options are the categories as written
    assert not app.exception and live_text(app) == []
    assert shown(app.error[0].value).startswith(f"{HOSTILE[1]}.png: ")
    text = page_text(app)
    assert f"You chose {chosen}, but Vitrine would file it under {predicted}." in text
    assert HOSTILE[0] in page_text(e for e in app.get("html") if 'class="vitrine-product"' in e.proto.body)


def test_batches_page_shows_a_hostile_batch_name_as_text(hostile, tmp_path):
    from core.cli import main

    batch = tmp_path / f"{HOSTILE[5]}.csv"  # Markdown a file name may hold
    batch.write_text("id,product_name,description\n" + "".join(
        f'"{text}","{HOSTILE[i]}","{HOSTILE[(i + 1) % 7]} steel signal{i}"\n' for i, text in enumerate(HOSTILE)),
        encoding="utf-8")
    assert main(["classify", str(batch), "--scenario", "tfidf", "--out", str(tmp_path / "out.csv")]) == 0
    app = run_page("batches.py")
    assert not app.exception and live_text(app) == []
    assert f"{HOSTILE[5]}.csv" in app.dataframe[0].value["name"].tolist()  # as written, in a table cell
    assert app.get("plotly_chart")
