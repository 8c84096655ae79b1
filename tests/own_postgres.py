"""A PostgreSQL of a test's own, to freeze, kill and restart: never the shared one on 5432,
which other people's tests use.

``initdb`` into a temporary folder and ``postgres`` on a free port, run as the ``postgres`` OS
user when the tests run as root (PostgreSQL refuses to run as root). Waits are on readiness
(``pg_isready`` answers), with a generous cap only so that a broken set-up cannot hang a run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

#: The last resort of a wait on the server, never the expected time (a busy machine is slow).
READY_CAP_S = 120.0


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (which holds no memory any more)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class OwnPostgres:
    """One throw-away PostgreSQL server: ``start``, ``freeze``/``thaw`` (SIGSTOP/SIGCONT to
    every one of its processes), ``kill`` (SIGKILL, as a crash) and ``stop``."""

    def __init__(self) -> None:
        bin_dir = _binaries()
        if bin_dir is None:
            pytest.skip("PostgreSQL's server binaries (initdb, postgres) are not installed")
        self.bin = bin_dir
        self.as_user: dict[str, object] = {}
        self.root = Path(tempfile.mkdtemp(prefix="hub-own-pg-"))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.data = self.root / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            timeout=READY_CAP_S,
            **self.as_user,  # type: ignore[call-overload]
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(  # type: ignore[call-overload]
            [
                self.bin / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.root,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "shared_buffers=16MB", "-c", "max_connections=60",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.as_user,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + READY_CAP_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.server_log()
            ready = subprocess.run(
                [self.bin / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"own PostgreSQL not ready:\n{self.server_log()}")

    def server_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")[-3000:]
        return ""

    def _children(self) -> list[int]:
        """The server's processes besides the postmaster (each is in a session of its own)."""
        assert self.proc is not None
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                found.append(int(entry))
        return found

    def _signal_all(self, sig: int, *, postmaster_first: bool) -> None:
        assert self.proc is not None
        if postmaster_first:  # stopped first, it cannot start new backends meanwhile
            os.kill(self.proc.pid, sig)
        for pid in self._children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if not postmaster_first:
            os.kill(self.proc.pid, sig)

    def freeze(self) -> None:
        self._signal_all(signal.SIGSTOP, postmaster_first=True)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT, postmaster_first=False)

    def kill(self) -> None:
        """SIGKILL every process of the server, as a crash or a pulled plug."""
        assert self.proc is not None
        pids = [self.proc.pid, *self._children()]
        self._signal_all(signal.SIGKILL, postmaster_first=True)
        self.proc.wait(timeout=READY_CAP_S)
        # The next start needs the old processes gone from the shared memory they held.
        deadline = time.monotonic() + READY_CAP_S
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "PostgreSQL's processes do not end"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (thawed first, if frozen) and remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=READY_CAP_S)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
