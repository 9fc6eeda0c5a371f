"""Detached service processes: spawn, identify by (pid, start time), stop, and free loopback ports.

A pid alone is not an identity: after a reboot or a long uptime the kernel reuses pids, and ``down``
must never signal a stranger. Every process we start is recorded with its start time from
``/proc/<pid>/stat`` (clock ticks since boot) and is only signalled while both still match.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from pipelines.stack.errors import StackError
from pipelines.stack.state import ServiceRecord

LOOPBACK = "127.0.0.1"

# Popen objects of the services this interpreter started. Holding them keeps Python from warning
# "subprocess is still running" when they are garbage-collected (the services are meant to outlive
# us) and lets us reap them through Popen.poll when they exit while we still run.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def proc_stat(pid: int) -> tuple[str, int] | None:
    """Return ``(state, start_time)`` of a process from ``/proc/<pid>/stat``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses; everything after the last ')' is fixed.
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[19])


def proc_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    stat = proc_stat(pid)
    return None if stat is None else stat[1]


def _reap(pid: int) -> None:
    # Only our own children can be reaped; for anything else this is a no-op.
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_running(pid: int | None, start_time: int | None) -> bool:
    """True if ``pid`` is alive (not a zombie) and is still the process that started at ``start_time``."""
    if not pid or start_time is None:
        return False
    stat = proc_stat(pid)
    if stat is None or stat[1] != start_time:
        return False
    if stat[0] == "Z":
        _reap(pid)
        return False
    return True


def spawn_detached(argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path) -> tuple[int, int]:
    """Start ``argv`` in its own session so it outlives the caller; return ``(pid, start_time)``.

    Its own session (and so its own process group) means a Ctrl-C in the terminal that ran
    ``datadam stack up`` does not reach it, and ``stop`` can signal the whole group.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    start = proc_start_time(proc.pid)
    if start is None:  # it died before we could look at it; the health wait reports the log
        start = -1
    return proc.pid, start


def launch(
    name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path, port: int, http: bool = True
) -> ServiceRecord:
    """Spawn a service detached; return the record ``down`` and ``status`` find it by.

    ``http``: the service serves on ``port`` (its URL is recorded).
    """
    pid, start = spawn_detached(argv, env=env, log_path=log_path, cwd=cwd)
    url = f"http://{LOOPBACK}:{port}" if http else ""
    return ServiceRecord(name=name, port=port, url=url, log=str(log_path), pid=pid, start_time=start,
                         started_at=time.time())


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # not a group leader we own; fall back to the process itself
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(pid: int, start_time: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid, start_time):
            return True
        time.sleep(0.1)
    return not is_running(pid, start_time)


def stop(pid: int, start_time: int, *, grace: float = 15.0) -> bool:
    """SIGTERM the process group of ``pid``, then SIGKILL it after ``grace`` seconds.

    Returns:
        True if the recorded process was running and has been stopped; False if it was already gone
        (or the pid now belongs to another process, which is left alone).
    """
    if not is_running(pid, start_time):
        return False
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, start_time, grace):
        return True
    if is_running(pid, start_time):  # re-check identity right before the hard kill
        _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, start_time, 5.0)
    return True


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if nothing listens on ``host:port`` and we could bind it now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sock.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers bind with SO_REUSEADDR, so connections of a stopped server lingering in TIME_WAIT do
        # not block them; test the same way. It still fails while anything listens on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(*, prefer: int | None = None, avoid: Iterable[int] = (), host: str = LOOPBACK) -> int:
    """Pick a free TCP port on loopback, keeping ``prefer`` when it is still free.

    Keeping the previous port means URLs in bookmarks, Airflow connections and long-lived clients
    stay valid across ``down``/``up``. New ports come from below the kernel's ephemeral range: Label
    Studio binds only after its migrations (a minute on a cold start), and a port from the ephemeral
    range could meanwhile become the source port of some outgoing connection.
    """
    avoided = set(avoid)
    if prefer and prefer not in avoided and port_is_free(prefer, host):
        return prefer
    low = min(_ephemeral_range()[0], 32768)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        if port not in avoided and port_is_free(port, host):
            return port
    raise OSError(f"no free port on {host} below the ephemeral range ({low})")


def wait_port_free(port: int, *, timeout: float = 30.0, host: str = LOOPBACK) -> bool:
    """Wait until ``port`` can be bound again (a stopped server may hold it for a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_free(port, host):
            return True
        time.sleep(0.2)
    return port_is_free(port, host)


def log_tail(path: Path, *, lines: int = 40, redact: Iterable[str] = ()) -> str:
    """Last ``lines`` lines of a log with every value in ``redact`` replaced by ``***``."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = "\n".join(text.splitlines()[-lines:])
    for secret in redact:
        if secret:
            tail = tail.replace(secret, "***")
    return tail


def wait_healthy(
    healthy: Callable[[], bool],
    *,
    record: ServiceRecord,
    what: str,
    unhealthy: str,
    timeout: float,
    poll: float,
    redact: Iterable[str] = (),
) -> None:
    """Poll ``healthy()`` until it is true; raise StackError with the log tail if the process dies or time runs out.

    Args:
        what: the service, for messages ("Label Studio").
        unhealthy: what was not true in time, for the message ("not healthy at http://.../health").
    """
    redact = tuple(redact)
    pid, start_time, log = record.pid, record.start_time, record.log
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy():
            return
        if not is_running(pid, start_time):
            raise StackError(f"{what} exited during start (see {log}):\n" + log_tail(Path(log), redact=redact))
        time.sleep(poll)
    raise StackError(f"{what} {unhealthy} after {timeout:.0f} s (see {log}):\n" + log_tail(Path(log), redact=redact))
