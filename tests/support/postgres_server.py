"""A real, throwaway PostgreSQL server for tests: initdb in a tmp folder, on a free loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yields the server's URL; the folder is outside pytest's tmp (root-only) so `postgres` can use it."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="aisec-pg-"))
    data, port = base / "pgdata", free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    run = lambda args: subprocess.run(_as_server_user(args), check=True, capture_output=True)  # noqa: E731
    run([str(bindir / "initdb"), "-D", str(data), "-U", "aisec", "--auth=trust", "-E", "UTF8"])
    run([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "server.log"), "-o",
         f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"])
    try:
        run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "aisec", "dagster"])
        yield f"postgresql://aisec@127.0.0.1:{port}/dagster"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
