"""A throwaway PostgreSQL server for the tests: Debian's binaries, a data folder in a temporary folder,
a free port on 127.0.0.1, trust authentication; stopped and deleted when the test session ends.

PostgreSQL refuses to run as root, so as root (CI) it runs as the ``postgres`` system user that
Debian's package creates; as anyone else, as the user running the tests.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "vitrine"
# Not UTC, as many servers are not: answer times must come back right whatever the server's zone.
SERVER_TIME_ZONE = "Asia/Kolkata"
HOW_TO_GET_IT = ("install Debian's postgresql package (`make test` does so when run as root) to run the "
                 "review store's tests on PostgreSQL too")


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be run here; the message says why and how to get it."""


def bin_dir() -> Path | None:
    """The folder of initdb, pg_ctl and postgres: on the PATH, else the newest of Debian's
    /usr/lib/postgresql/<version>/bin (which Debian keeps off the PATH)."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    return next((c for c in candidates if all((c / n).is_file() for n in ("initdb", "pg_ctl", "postgres"))), None)


def version(binaries: Path) -> str:
    """The server's version, as ``postgres --version`` gives it (e.g. ``15.18 (Debian 15.18-0+deb12u1)``)."""
    text = subprocess.run([binaries / "postgres", "--version"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"^.*\) ", "", text.strip())


@dataclass
class Server:
    binaries: Path
    folder: Path
    port: int
    run_as: list[str]

    def url(self, schema: str | None = None) -> str:
        """Its database's URL; given a schema, connections put their tables there."""
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres{options}"

    def stop(self) -> None:
        """Stop the server (no checkpoint: its data is thrown away) and delete its folder."""
        _run(self.run_as + [self.binaries / "pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop"],
             self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server:
    """A running server; PostgresUnavailable when PostgreSQL is missing or may not run here, and a
    RuntimeError with the server's log when it is installed but fails to start."""
    binaries = bin_dir()
    if binaries is None:
        raise PostgresUnavailable(f"PostgreSQL is not installed (no initdb and pg_ctl found): {HOW_TO_GET_IT}")
    run_as = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="vitrine-postgresql-"))
    if run_as:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = Server(binaries, folder, _free_port(), run_as)
    data, log = folder / "data", folder / "server.log"
    try:
        _run(run_as + [binaries / "initdb", "-D", data, "-U", USER, "--auth=trust", "--encoding=UTF8", "--no-locale",
                       "--no-sync", "--no-instructions"], folder)
        # fsync off: a throwaway server need not survive a power cut, and it spares the shared disk.
        options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off "
                   f"-c timezone={SERVER_TIME_ZONE}")
        _run(run_as + [binaries / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"], folder)
    except subprocess.CalledProcessError as exc:
        logged = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL from {binaries} did not start: {exc.stderr or exc.stdout}{logged}") from exc
    return server


def _run_as() -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user they accept: none unless root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("PostgreSQL refuses to run as root and there is no postgres system user: "
                                  f"{HOW_TO_GET_IT}") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("PostgreSQL refuses to run as root and runuser (util-linux) is missing to run it "
                                  "as the postgres user")
    return [runuser, "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list, folder: Path) -> None:
    # In the server's folder: the postgres user may not enter the caller's working folder.
    subprocess.run([str(part) for part in command], cwd=folder, capture_output=True, text=True, check=True)
