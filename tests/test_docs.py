"""The documentation's commands run, and its links and code paths lead somewhere.

Which lines are commands: every line of a fenced code block marked ```bash (indented or not) in
README.md and docs/*.md, blank lines and comment lines aside; a trailing ``\\`` joins the next line.
Such a line starts with ``.venv/bin/python`` or ``make``, after optional ``NAME=value`` assignments;
any other line in a bash block fails ``test_every_bash_line_is_a_command`` (add a rule here rather than
let a command go unrun). Other fenced blocks (```toml, ...) are not commands.

How a ``.venv/bin/python`` command runs: as ``sys.executable``, in the repository, on the shipped sample
(``VITRINE_DATA_DIR=assets/sample``), in one work folder and one empty models folder shared by the
whole module (so a command finds what an earlier one stored, as for a reader), with a timeout. Its
placeholders (FILE, DIR, NAME, ...) are replaced by the concrete values of ``substitutions``, made in a
temporary folder; a command that needs something first (an operator's answer before ``labels apply``, a
data version before ``--version NAME``) gets it from ``prepare``. Expected: exit 0, unless the
command's own comment in the doc says ``exits N`` (a command that needs what this machine may lack:
internet, a GPU, model weights, a cluster): then exit N, one line on stderr saying why
(``error: ...`` or ``... cannot run: ...``), and no traceback. Commands that need internet run with the
proxy set to a closed local port, so they fail as offline on any machine. Data imports and downloads
get an empty data folder of their own, model imports and downloads an empty models folder of their own.

Bounded forms: the benchmarks run with their smallest sizes (``BOUNDED``, appended to the command, so
argparse takes them over the defaults) and one thread each (``OMP_NUM_THREADS=1``: on a shared 2-core
machine a thread per core spins against the other tenants, 3 times slower here).

``make`` commands are not run (they install everything and run the app or this very suite):
``test_make_command`` checks that the target exists and does what the README says, that ``.ci/run``
calls ``make test``, and that every variable set before it is read by the code.

Each identical command runs once, where it first appears (README first, then docs/ in name order).
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.locations import REPO_ROOT, SAMPLE_DATA_DIR

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S+$")
EXPECTED_EXIT = re.compile(r"\bexits (\d+)\b")
# Offline, wherever the test runs: every download goes through a proxy that refuses the connection.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"}
# Settings a developer's shell may hold that would point a command elsewhere than the test's folders.
UNSET = ("VITRINE_REVIEW_DB", "VITRINE_DATA_VERSION", "VITRINE_CLIP_MODEL", "VITRINE_DATASET_URL",
         "VITRINE_MODELS_DIR", "RAY_ADDRESS", "NO_PROXY", "no_proxy")
# The benchmarks' smallest sizes (see each one's --help): they are checked to run, not timed.
BOUNDED = {
    "benchmarks/clip_embed.py": ["-n", "2", "--rounds", "1"],
    "benchmarks/densenet_features.py": ["-n", "2", "--rounds", "1"],
    "benchmarks/explain.py": ["--rounds", "1", "--batch", "1"],
    "benchmarks/classify.py": ["--rows", "20", "--clip-n", "2", "--gpu-n", "2", "--rounds", "1"],
    "benchmarks/classify_ray.py": ["--rows", "100"],
    "benchmarks/acceptance.py": ["--scenarios", "tfidf", "--folds", "2", "--repeats", "1"],
    "benchmarks/serve.py": ["--seconds", "1", "--rounds", "1", "--skip-clip"],
}
TIMEOUT_S, BENCHMARK_TIMEOUT_S = 300, 600
VERSION_NAME = "docs-version"


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str     # as the doc shows it, continuation lines joined, comment off
    comment: str  # what follows `#` on its line

    def words(self) -> list[str]:
        return shlex.split(self.text)

    def assignments(self) -> dict[str, str]:
        words = self.words()
        return dict(w.split("=", 1) for w in words[:_program_index(words)])

    def program(self) -> list[str]:
        words = self.words()
        return words[_program_index(words):]

    def expected_exit(self) -> int:
        found = EXPECTED_EXIT.search(self.comment)
        return int(found.group(1)) if found else 0

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def _program_index(words: list[str]) -> int:
    return next((i for i, word in enumerate(words) if not ASSIGNMENT.match(word)), len(words))


def bash_lines(path: Path) -> list[tuple[int, str, str]]:
    """Each logical line of the file's ```bash blocks: (line number, command, comment)."""
    lines, found, in_bash, fenced = path.read_text(encoding="utf-8").splitlines(), [], False, False
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if fence:
            if fenced:
                fenced = in_bash = False
            else:
                fenced, in_bash = True, fence.group(2) in ("bash", "sh", "shell")
            continue
        if not in_bash:
            continue
        start, text = pending if pending else (number, "")
        text += " " + line.strip()
        if text.endswith("\\"):
            pending = (start, text[:-1])
            continue
        pending = None
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        command, _, comment = text.partition(" #")
        found.append((start, command.strip(), comment.strip()))
    return found


def doc_name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def all_commands() -> list[Command]:
    seen, commands = set(), []
    for path in DOCS:
        for number, text, comment in bash_lines(path):
            if text not in seen:
                seen.add(text)
                commands.append(Command(doc_name(path), number, text, comment))
    return commands


def is_python(command: Command) -> bool:
    return command.program()[:1] == [".venv/bin/python"]


def is_make(command: Command) -> bool:
    return command.program()[:1] == ["make"]


COMMANDS = all_commands()
PYTHON_COMMANDS = [c for c in COMMANDS if is_python(c)]
MAKE_COMMANDS = [c for c in COMMANDS if is_make(c)]


def test_every_bash_line_is_a_command():
    strays = [str(c) for c in COMMANDS if not (is_python(c) or is_make(c))]
    assert not strays, f"lines in ```bash blocks that this test does not know how to run: {strays}"
    assert len(PYTHON_COMMANDS) >= 20 and MAKE_COMMANDS, "the docs' commands were not found: is the rule broken?"


# --- the folders and files the commands run on -----------------------------------------------------

@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("docs")
    folders = {name: root / name for name in ("work", "models", "inputs")}
    for folder in folders.values():
        folder.mkdir()
    return folders


@pytest.fixture(scope="module")
def substitutions(place) -> dict[str, str]:
    """Each placeholder the docs use, and what it stands for here."""
    from tests.tiny_models import save_random_densenet, save_tiny_clip

    inputs = place["inputs"]
    new = inputs / "new.csv"
    new.write_text("id,product_name,description\n"
                   "n1,Analog wrist watch,a men analog wrist watch with a leather strap and a round dial\n"
                   "n2,Baby romper,soft cotton romper for an infant baby\n"
                   "n3,USB keyboard,wireless usb keyboard and mouse for a laptop\n", encoding="utf-8")
    original = inputs / "original-layout"  # the study's layout: the CSV beside Images/
    shutil.copytree(SAMPLE_DATA_DIR / "images", original / "Images")
    for csv in SAMPLE_DATA_DIR.glob("*.csv"):
        shutil.copyfile(csv, original / csv.name)
    return {
        "new.csv": str(new),
        "new.tfidf.csv": str(inputs / "new.tfidf.csv"),
        "CATALOGUE": str(new),
        "FILE.parquet": str(inputs / "out.parquet"),
        "FOLDER/": str(inputs / "shards") + "/",
        "NAME": VERSION_NAME,
        "N": "2",
        "PATH": str(original),
        "DIR": str(save_tiny_clip(inputs / "tiny-clip")),
        "FILE": str(save_random_densenet(inputs / "densenet121-a639ec97.pth")),
    }


def _save_an_answer(work: Path) -> None:
    """One operator's answer giving a sample listing another category, as the review page saves it."""
    from core.dataset import load_dataset
    from core.review.answer_store import ReviewStore

    listings = load_dataset(SAMPLE_DATA_DIR).listings
    first = listings.iloc[0]
    other = next(c for c in sorted(set(listings["category"])) if c != first["category"])
    store = ReviewStore(f"sqlite:///{work / 'reviews.sqlite'}")
    if store.active_frame().empty:
        store.save("docs-test", first["uniq_id"], other, False)


def prepare(command: Command, env: dict[str, str], work: Path) -> None:
    """What a command needs first: an answer before `labels apply` (and no version of the same
    corrections yet), the data version before a command that names it."""
    words = command.program()
    if "apply" in words and "labels" in words:
        _save_an_answer(work)
        shutil.rmtree(work / "versions", ignore_errors=True)
    elif "NAME" in words and not (work / "versions" / VERSION_NAME).is_dir():
        _save_an_answer(work)
        subprocess.run([sys.executable, "-m", "core", "labels", "apply", "--name", VERSION_NAME], cwd=REPO_ROOT,
                       env=env, check=True, capture_output=True, timeout=TIMEOUT_S)


def _substituted(words: list[str], table: dict[str, str]) -> list[str]:
    return [table.get(word, word) for word in words]


def environment(command: Command, place: dict[str, Path], tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(VITRINE_DATA_DIR=str(SAMPLE_DATA_DIR), VITRINE_WORK_DIR=str(place["work"]),
               VITRINE_MODELS_DIR=str(place["models"]), PYTHONUNBUFFERED="1")
    words = command.program()
    if "data" in words and ("import" in words or "download" in words):
        env["VITRINE_DATA_DIR"] = str(tmp_path / "data")
    if "models" in words and ("import" in words or "download" in words):
        env["VITRINE_MODELS_DIR"] = str(tmp_path / "models")
    if "internet" in command.comment:
        env.update(OFFLINE)
    env.update(command.assignments())
    return env


# --- the commands ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", PYTHON_COMMANDS, ids=[f"{c.doc}:{c.line}" for c in PYTHON_COMMANDS])
def test_python_command(command: Command, place, substitutions, tmp_path):
    env = environment(command, place, tmp_path)
    words = _substituted(command.program(), substitutions)
    script = words[1] if len(words) > 1 else ""
    argv = [sys.executable, *words[1:], *BOUNDED.get(script, [])]
    if script in BOUNDED:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    prepare(command, env, place["work"])
    timeout = BENCHMARK_TIMEOUT_S if script in BOUNDED else TIMEOUT_S
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    said = f"{command}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stdout + done.stderr, said
    expected = command.expected_exit()
    assert done.returncode == expected, f"exit {done.returncode}, the doc says {expected}: {said}"
    if expected:
        reasons = [line for line in done.stderr.splitlines() if line.startswith("error:") or " cannot run: " in line]
        assert len(reasons) == 1, f"not one line saying why: {said}"


@pytest.mark.parametrize("command", MAKE_COMMANDS, ids=[f"{c.doc}:{c.line}" for c in MAKE_COMMANDS])
def test_make_command(command: Command):
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = command.program()[1:]
    assert targets, command
    for target in targets:
        recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n?)*)", makefile, re.MULTILINE)
        assert recipe, f"{command}: the Makefile has no target {target}"
        steps = recipe.group(1)
        if target == "app":  # the README: creates .venv, installs everything, runs the app
            assert "$(STAMP)" in recipe.group(0) and "streamlit run streamlit_app.py" in steps
        if target == "test":  # the README: the same setup, chromium and postgresql, the linter, the layers, pytest
            for step in ("$(STAMP)", "ensure_chromium.sh", "ensure_http_tools.sh", "ensure_postgresql.sh", "ruff check",
                         "lint-imports", "-m pytest"):
                assert step in recipe.group(0), f"make test no longer runs {step}, as the README says"
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for folder in ("core", "tests", "pages")
                     for p in (REPO_ROOT / folder).rglob("*.py"))
    for name in command.assignments():
        assert re.search(rf"\b{name}\b", code.replace("test_docs", "")), f"{command}: nothing reads ${name}"


# --- links and code paths --------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`\.?\.?/?((?:core|tests|benchmarks|scripts|pages|assets|docs|\.ci)/[\w./-]+|"
                       r"[\w-]+\.(?:py|toml|txt|ini)|\.importlinter)`")


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.*)$", path.read_text(encoding="utf-8"), re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=[doc_name(d) for d in DOCS])
def test_relative_links_lead_to_files(doc: Path):
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{doc_name(doc)}: links to nothing: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=[doc_name(d) for d in DOCS])
def test_code_paths_exist(doc: Path):
    text = doc.read_text(encoding="utf-8")
    names = {p.name for p in REPO_ROOT.rglob("*") if not {".git", ".venv"} & set(p.relative_to(REPO_ROOT).parts)}
    missing = [p for p in CODE_PATH.findall(text) if "<" not in p and not (REPO_ROOT / p).exists() and p not in names]
    assert not missing, f"{doc_name(doc)} names files that do not exist: {missing}"


def test_readme_is_short_and_links_every_page():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 90
    for page in sorted((REPO_ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"the README's Read more does not link {page.name}"
