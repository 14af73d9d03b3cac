"""A throwaway PostgreSQL server for the tests and the database benchmark: its own data folder, port and password,
started from Debian's `postgresql` binaries and stopped (folder removed) at the end.

    with throwaway_postgres() as server:
        server.url        # postgresql+psycopg://segstudio@127.0.0.1:PORT/customers (no password)
        server.password   # give it through the environment, as an operator would

initdb refuses to run as root; as root the server runs as the `postgres` user Debian's package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def url_with_password(self) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH, under /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server binaries are not installed: apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres(database: str = "customers") -> Iterator[PostgresServer]:
    bin_dir = postgres_bin()
    as_root = os.geteuid() == 0
    runner = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = Path(tempfile.mkdtemp(prefix="segstudio-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    password, port, user = secrets.token_hex(12), _free_port(), "segstudio"
    pwfile = folder / "pw"
    pwfile.write_text(password)
    if as_root:
        owner = pwd.getpwnam("postgres")
        for path in (folder, sockets, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    try:
        subprocess.run(
            [*runner, str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(pwfile), "-A", "md5"],
            **quiet,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w"]
            + ["start"],
            **quiet,
        )
        env = {**os.environ, "PGPASSWORD": password}
        deadline = time.monotonic() + 30
        while True:
            made = subprocess.run(
                ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", "postgres"]
                + ["-c", f"CREATE DATABASE {database}"],
                env=env,
                capture_output=True,
            )
            if made.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {made.stderr.decode(errors='replace')}")
            time.sleep(0.3)
        yield PostgresServer(port=port, user=user, password=password, database=database)
    finally:
        if data.exists():
            stop = [*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            subprocess.run(stop, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
