"""`data download` against a local HTTP server on 127.0.0.1: the zip in the study's layout, a 404, a
body that is not a zip, a zip without photos, a closed port and a server that never answers."""
import http.server
import socket
import threading
import zipfile

import pytest

from core import download
from core.cli import EXIT_DATA, main
from core.locations import CSV_NAME
from tests.conftest import listing_row, write_dataset


def _study_zip(tmp_path, with_photos=True) -> bytes:
    """A small zip in the layout of the study's: Flipkart/<csv> and Flipkart/Images/."""
    rows = [listing_row(f"{c}{i}", c) for c in ("Watches", "Computers") for i in range(5)]
    source = write_dataset(tmp_path / "made", rows)
    path = tmp_path / "made.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.write(source / CSV_NAME, f"Flipkart/{CSV_NAME}")
        if with_photos:
            z.writestr("Flipkart/Images/Watches0.jpg", b"jpeg bytes")
    return path.read_bytes()


@pytest.fixture
def server():
    """Serves ``server.routes[path] = (status, body)`` on 127.0.0.1 and lists the paths asked for."""
    routes: dict[str, tuple[int, bytes]] = {}
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            status, body = routes.get(self.path, (404, b"not here"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.routes, httpd.asked = routes, asked
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def destination(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "flipkart"
    monkeypatch.setenv("VITRINE_DATA_DIR", str(folder))
    return folder


def _download(monkeypatch, url, *extra):
    monkeypatch.setenv("VITRINE_DATASET_URL", url)
    return main(["data", "download", *extra])


def _one_error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    return lines[0]


def test_download_fetches_checks_and_imports_the_study_zip(server, destination, tmp_path, monkeypatch, capsys):
    server.routes["/dataset.zip"] = (200, _study_zip(tmp_path))
    assert _download(monkeypatch, f"{server.url}/dataset.zip") == 0
    assert "Imported 10 listings" in capsys.readouterr().out
    assert (destination / "images" / "Watches0.jpg").read_bytes() == b"jpeg bytes"
    assert sorted(p.name for p in destination.parent.iterdir()) == ["flipkart"]  # no temporary file left
    # a second download respects --replace as `data import` does, and says so before fetching anything
    assert _download(monkeypatch, f"{server.url}/dataset.zip") == EXIT_DATA
    assert "--replace" in _one_error_line(capsys) and server.asked == ["/dataset.zip"]
    assert _download(monkeypatch, f"{server.url}/dataset.zip", "--replace") == 0


def test_the_address_is_one_constant_that_the_environment_overrides(monkeypatch):
    monkeypatch.delenv("VITRINE_DATASET_URL", raising=False)
    assert download.dataset_url() == download.DATASET_URL
    assert download.DATASET_URL.endswith(".zip") and download.DATASET_URL.startswith("https://")
    monkeypatch.setenv("VITRINE_DATASET_URL", "http://127.0.0.1:9/x.zip")
    assert download.dataset_url() == "http://127.0.0.1:9/x.zip"


@pytest.mark.parametrize("route, says", [
    ((404, b"not here"), "the server answered 404"),
    ((200, b"<html><body>Access denied</body></html>"), "is not a zip file (it begins '<html>"),
])
def test_a_bad_answer_is_one_line_with_the_address_and_the_offline_way(server, destination, monkeypatch, capsys,
                                                                       route, says):
    server.routes["/dataset.zip"] = route
    assert _download(monkeypatch, f"{server.url}/dataset.zip") == EXIT_DATA
    line = _one_error_line(capsys)
    assert f"{server.url}/dataset.zip" in line and says in line and "python -m core data import PATH" in line
    assert not destination.parent.exists() or list(destination.parent.iterdir()) == []


def test_a_zip_without_photos_is_not_imported(server, destination, tmp_path, monkeypatch, capsys):
    server.routes["/dataset.zip"] = (200, _study_zip(tmp_path, with_photos=False))
    assert _download(monkeypatch, f"{server.url}/dataset.zip") == EXIT_DATA
    assert "holds no photos in an Images/ folder" in _one_error_line(capsys)
    assert not destination.exists()


def test_an_unreachable_address_fails_with_the_offline_way(destination, monkeypatch, capsys):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert _download(monkeypatch, f"http://127.0.0.1:{port}/dataset.zip") == EXIT_DATA
    line = _one_error_line(capsys)
    assert f"127.0.0.1:{port}" in line and "refused" in line and "python -m core data import PATH" in line
    assert not destination.parent.exists()  # the folders made for it are gone: nothing is left behind


def test_a_server_that_never_answers_is_given_up_on(destination, monkeypatch, capsys):
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        assert _download(monkeypatch, f"http://127.0.0.1:{silent.getsockname()[1]}/dataset.zip") == EXIT_DATA
    assert "timed out" in _one_error_line(capsys)
