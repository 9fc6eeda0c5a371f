"""`datadam run ID` and `datadam demo`: run dataset DAGs end to end on the local stack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipelines.cli.common import esc, plain
from pipelines.lifeline import parent_env
from pipelines.orchestration.runner import FAILURES_ENV, RESULT_PREFIX
from pipelines.spec import SpecError, load_catalog
from pipelines.spec.binding import bind_source
from pipelines.stack import StackInfo, up
from pipelines.storage import S3Settings, artifacts, layout, open_store

ROOT = Path(__file__).resolve().parents[2]
DEMO_SPECS = ("crop-disease-open-field", "civil-complaint-classification", "dialect-speech-jeju")
# The simulated people look for new work this often (a pass lists the project's tasks: cheap on a local server);
# each second they wait is a second of every simulated run.
SIM_POLL_S = 0.5
_out = Console(soft_wrap=True)  # keep URIs on one line, copyable
_err = Console(stderr=True, soft_wrap=True)  # one error, one line


@dataclass(frozen=True)
class RunSummary:
    """What a user needs after a run: outcome, where the release and the report are, and why it failed."""

    spec_id: str
    run_id: str | None
    state: str
    seconds: float
    storage: str
    release: str | None
    rows: int | None
    report: str | None
    log: Path
    tasks: dict[str, Any]
    reason: str | None = None  # for a run that did not succeed: the first failing task and its error
    source: str | None = None  # the source binding the run was given (``--source``), as given


class RunStopped(Exception):
    """``datadam run`` was asked to stop (SIGTERM); the processes it started are stopped on the way out."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into :class:`RunStopped` while a run is in progress, so that ``finally`` blocks stop what
    the run started (Ctrl-C already raises KeyboardInterrupt). Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise RunStopped(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _env(stack: StackInfo, storage: str) -> dict[str, str]:
    env = {**os.environ, **stack.airflow_env(), "DATADAM_STORAGE": storage,
           "DATADAM_LS_URL": stack.ls_url, "DATADAM_LS_TOKEN": stack.ls_token}
    if storage.startswith("s3://"):
        env.update(stack.s3_env())
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _store(stack: StackInfo, storage: str) -> Any:
    s3 = None
    if storage.startswith("s3://"):
        s3 = S3Settings(endpoint_url=stack.s3_endpoint, access_key=stack.s3_access_key,
                        secret_key=stack.s3_secret_key, region=stack.s3_region)
    store = open_store(storage, s3=s3)
    store.ensure_bucket()
    return store


def _spawn(cmd: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child in its own session: Ctrl-C in the terminal reaches only us, and we stop its whole group; it dies
    with us even when we are killed (:mod:`pipelines.lifeline`)."""
    with log.open("w") as fh:
        return subprocess.Popen(cmd, cwd=ROOT, env={**env, **parent_env()}, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(proc: subprocess.Popen[bytes] | None, *, grace_s: float = 10.0) -> None:
    """Stop ``proc`` and everything it started: SIGTERM to its process group, SIGKILL after ``grace_s``."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


class DagRunner:
    """A ``python -m pipelines.orchestration.runner --serve`` process that runs DAGs one after another, so Airflow's
    import and start-up are paid once for many runs. Started on the first :meth:`submit`; a dead or closed one is
    replaced by the next :meth:`submit`. Its output goes to each request's log; until the first request, to
    ``log``."""

    def __init__(self, *, env: dict[str, str], log: Path, storage: str) -> None:
        self.env, self.log, self.storage = env, log, storage
        self.proc: subprocess.Popen[bytes] | None = None
        self.busy = False  # a DAG of ours is running in it

    @classmethod
    def for_stack(cls, stack: StackInfo, storage: str, *, log: Path) -> DagRunner:
        """A runner for runs on ``stack`` writing to ``storage`` (what :func:`run_one` would start per run)."""
        return cls(env=_env(stack, storage), log=log, storage=storage)

    @property
    def returncode(self) -> int | str:
        return "?" if self.proc is None or self.proc.returncode is None else self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def submit(self, request: dict[str, Any]) -> None:
        """Start ``request``'s DAG (see the runner's ``--serve``); the outcome is the last line of its log."""
        if not self.alive():
            self.close()
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a") as fh:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "pipelines.orchestration.runner", "--serve", "--storage", self.storage],
                    cwd=ROOT,
                    env={**self.env, **parent_env()}, stdin=subprocess.PIPE, stdout=fh, stderr=subprocess.STDOUT,
                    start_new_session=True)
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        self.busy = True

    def close(self) -> None:
        """Stop the process and everything it started (a DAG mid-way included)."""
        if self.proc is not None and self.proc.stdin is not None:
            with suppress(OSError):
                self.proc.stdin.close()  # between runs, the end of its requests ends it
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.0 if self.busy else 5.0)
        _stop(self.proc)


class SimRunner:
    """A ``python -m sim.annotators --serve`` process: the simulated people of many runs, one run after another
    (a sweep), so that its start-up is paid once. Per run it cost about 7-9 s of imports on this loaded 2-core
    machine, on the critical path of every fast run: its annotators could not start before it had. Started on the
    first :meth:`start`; a dead or closed one is replaced by the next. Its output goes to each run's simulator
    log; until the first request, to ``log``."""

    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def returncode(self) -> int | str:
        return "?" if self.proc is None or self.proc.returncode is None else self.proc.returncode

    @classmethod
    def for_stack(cls, stack: StackInfo, storage: str, *, log: Path) -> SimRunner:
        """A simulator for runs on ``stack`` writing to ``storage`` (what :func:`run_one` would start per run)."""
        return cls(env=_env(stack, storage), log=log)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _send(self, request: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()

    def start(self, argv: list[str], *, log: Path) -> None:
        """Simulate for one run (``argv``: ``python -m sim.annotators``'s options) until :meth:`idle`."""
        if not self.alive():
            self.close()
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a") as fh:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "sim.annotators", "--serve"], cwd=ROOT, env={**self.env, **parent_env()},
                    stdin=subprocess.PIPE, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        log.touch()
        self._send({"argv": argv, "log": str(log)})

    def idle(self) -> None:
        """The run ended: stop working on it and wait for the next."""
        if self.alive():
            with suppress(OSError):
                self._send({})

    def close(self) -> None:
        """Stop the process (the end of its requests ends it; SIGTERM, then SIGKILL, if it does not)."""
        if self.proc is not None and self.proc.stdin is not None:
            with suppress(OSError):
                self.proc.stdin.close()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5.0)
        _stop(self.proc)


def _tail(path: Path, lines: int = 3) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(line.strip() for line in text[-lines:]) or "(no output)"


_PROGRESS_RE = re.compile(r"\]\s+(?P<line>.+?)\s+\[datadam\.progress\]")
_GATE_WAIT_RE = re.compile(r"blocking checks failed: waiting for an inspector's decision at "
                           r"(?P<run>runs/[^/\s]+/[^/\s]+)/")
_TASK_END_RE = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<map>-?\d+)")


class LogFollower:
    """The complete lines a growing log file gained since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self._pos, self._rest = path, 0, b""

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self._pos)
            data = fh.read()
        self._pos += len(data)
        *complete, self._rest = (self._rest + data).split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in complete]


GATE_HELD = "gate: blocking checks failed; the run waits for an inspector: datadam qa show|approve|reject "


def held_run(event: str) -> str | None:
    """The run (``runs/<ds>/<run>``) a ``progress`` event of :func:`run_events` says is held at the gate, or None."""
    return event[len(GATE_HELD):] if event.startswith(GATE_HELD) else None


def run_events(lines: list[str]) -> Iterator[tuple[str, str]]:
    """What a person watching a run wants from its log: tasks that ended and the tasks' paced progress lines."""
    for line in lines:
        if (m := _PROGRESS_RE.search(line)) is not None:
            yield "progress", m.group("line")
        elif (m := _GATE_WAIT_RE.search(line)) is not None:
            yield "progress", GATE_HELD + m.group("run")
        elif (m := _TASK_END_RE.search(line)) is not None:
            yield "task", m.group("task") + (f"[{m.group('map')}]" if int(m.group("map")) >= 0 else "")


@contextmanager
def watch_run(console: Console) -> Iterator[Callable[[str, str], None]]:
    """``on_event`` for :func:`run_one`: a rich bar of finished tasks on a terminal, plain lines elsewhere."""
    if not console.is_terminal:
        yield lambda kind, what: console.print(Text(what if kind == "progress" else f"{what}: done"))
        return
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        bar = bars.add_task("starting", total=None)

        def on_event(kind: str, what: str) -> None:
            if kind == "task":
                bars.update(bar, advance=1, description=f"{what} done")
            else:
                bars.update(bar, description=what)

        yield on_event


def _first_failure(path: Path) -> str | None:
    """The first task that failed for good, as ``task[map]: error`` (from the DAG's on_failure_callback)."""
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with suppress(ValueError, KeyError):
            rec = json.loads(line)
            where = rec["task_id"] + (f"[{rec['map_index']}]" if int(rec.get("map_index", -1)) >= 0 else "")
            return f"{where}: {rec['error']}"
    return None


# Simulated annotators answer from the ground truth a synthetic source writes next to each item; a contractor's own
# data has none, so they would leave every task alone and the run would wait out its label timeout.
SIMULATE_BOUND = ("--simulate cannot label data bound with --source: the simulated annotators answer from the ground "
                  "truth the spec's synthetic source writes, and a contractor's own items carry none. Run without "
                  "--simulate and annotate the tasks in Label Studio (the run waits for them), or drop --source to "
                  "try the pipeline on synthetic items")


def run_one(spec_id: str, *, stack: StackInfo, storage: str, items: int | None, simulate: bool,
            annotators: int = 3, error_rate: float = 0.02, reviewer_error_rate: float = 0.01, poll_s: float = 2.0,
            timeout_s: float = 1800.0, review_timeout_s: float | None = None,
            gate_timeout_s: float | None = None, source: str | None = None,
            on_event: Callable[[str, str], None] | None = None, runner: DagRunner | None = None,
            sim: SimRunner | None = None) -> RunSummary:
    """Run one DAG through ``dag.test()`` in a subprocess; with ``simulate``, simulated annotators and reviewers
    work alongside (a higher error rate fails semantic accuracy: the gate then waits for ``datadam qa approve``).

    With ``simulate``, a preflight first checks that the simulator can annotate this spec (a refusal returns at
    once with state ``refused``), and a simulator that dies mid-run ends the run. Whatever ends the run — its end,
    a dead simulator, the overall deadline, Ctrl-C or SIGTERM — every process it started is stopped.

    ``review_timeout_s`` (default ``timeout_s``) bounds ``review_wait``: past it the run goes on with semantic
    accuracy "not measured", as a contractor's run does when reviewers have not finished. ``gate_timeout_s``
    (default ``timeout_s``) bounds the wait for an inspector when a blocking check fails.

    ``source`` binds the run to other data than the spec's source (the DAG's ``source`` param, see
    :mod:`pipelines.spec.binding`); a bad binding raises ``SourceBindingError`` before anything starts.
    ``on_event`` hears the run as it goes: ``("task", task_id)`` when a task ends, ``("progress", line)`` for each
    paced progress line of a task (:mod:`pipelines.pace`).

    ``runner`` runs the DAG in a process that outlives this run (:class:`DagRunner`, shared by a sweep's runs, whose
    environment must be this run's apart from its log); by default the run gets a process of its own. ``sim``
    likewise runs the simulated people in a process that outlives this run (:class:`SimRunner`)."""
    spec = load_catalog().get(spec_id)
    if source is not None:  # as the binding records it: a relative path made absolute (the runner's cwd differs)
        source = bind_source(spec, source).given
    logs = stack.home / "logs" / "runs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log = logs / f"{spec_id}-{stamp}.log"
    failures = logs / f"{spec_id}-{stamp}-failures.jsonl"
    env = {**_env(stack, storage), FAILURES_ENV: str(failures)}
    store = _store(stack, storage)
    t0 = time.perf_counter()

    def summary(state: str, *, reason: str | None, outcome: dict[str, Any] | None = None) -> RunSummary:
        return _summarise(spec_id, store=store, storage=storage, state=state, reason=reason, outcome=outcome or {},
                          seconds=time.perf_counter() - t0, log=log, source=source)

    if simulate:
        from sim.annotators import SimulatorError, preflight

        try:
            if source is not None:
                raise SimulatorError(SIMULATE_BOUND)
            preflight(spec=spec, store=store)
        except SimulatorError as exc:
            log.write_text(f"refused before start: {exc}\n", encoding="utf-8")
            return summary("refused", reason=f"simulated annotators: {exc}")
    review_s = timeout_s if review_timeout_s is None else review_timeout_s
    gate_s = timeout_s if gate_timeout_s is None else gate_timeout_s
    conf: dict[str, Any] = {"label_poll_s": poll_s, "label_timeout_s": timeout_s, "review_timeout_s": review_s,
            "gate_poll_s": poll_s, "gate_timeout_s": gate_s}
    if source is not None:
        conf["source"] = source
    request = {"spec_id": spec_id, "items": items, "storage": storage, "conf": conf, "log": str(log),
               "env": {FAILURES_ENV: str(failures)}}
    deadline_s = 2 * timeout_s + 600
    own_runner = runner is None
    runner = runner or DagRunner(env=env, log=log, storage=storage)
    sim_proc = None
    reason: str | None = None
    try:
        if simulate:
            sim_log = logs / f"{spec_id}-{stamp}-annotators.log"
            # The simulator outlives any healthy run (its timeout is the run's deadline): its exit before the run
            # ends means it died.
            sim_argv = ["--storage", storage, "--spec-id", spec_id, "--annotators", str(annotators),
                        "--error-rate", str(error_rate), "--watch", "--follow", "--review",
                        "--reviewer-error-rate", str(reviewer_error_rate), "--timeout", str(deadline_s),
                        "--poll", str(min(poll_s, SIM_POLL_S))]
            if sim is None:
                sim_proc = _spawn([sys.executable, "-m", "sim.annotators", *sim_argv], env=env, log=sim_log)
            else:
                sim.start(sim_argv, log=sim_log)
        # Airflow logs to stdout: everything goes to the log file as it happens; the outcome is its last line.
        runner.submit(request)
        follow = LogFollower(log)
        ended = False
        while not ended:
            for line in follow.lines():
                if line.startswith(RESULT_PREFIX):
                    ended = True
                elif on_event is not None:
                    for kind, what in run_events([line]):
                        on_event(kind, what)
            if ended:
                runner.busy = False
                break
            if not runner.alive():
                for line in follow.lines():  # what the runner wrote as it ended
                    ended = ended or line.startswith(RESULT_PREFIX)
                break
            if sim_proc is not None and sim_proc.poll() is not None:
                reason = (f"the simulated annotators stopped (exit {sim_proc.returncode}): {_tail(sim_log)}; "
                          f"log: {sim_log}")
                break
            if simulate and sim is not None and not sim.alive():
                reason = f"the simulated annotators stopped (exit {sim.returncode}): {_tail(sim_log)}; log: {sim_log}"
                break
            if time.perf_counter() - t0 > deadline_s:
                reason = f"the run did not end within {deadline_s:.0f} s"
                break
            time.sleep(0.5)
    except (KeyboardInterrupt, RunStopped) as exc:
        reason = f"stopped by {type(exc).__name__ if isinstance(exc, KeyboardInterrupt) else exc}"
    finally:
        if own_runner or reason is not None:  # a run cut short leaves its DAG mid-way: that process goes
            runner.close()
        _stop(sim_proc, grace_s=5.0)
        if simulate and sim is not None:
            if reason is None:
                sim.idle()
            else:
                sim.close()
    outcome: dict[str, Any] = {}
    with log.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(RESULT_PREFIX):
                outcome = json.loads(line[len(RESULT_PREFIX):])
    state = "stopped" if reason else outcome.get("state", f"exit {runner.returncode}")
    if reason is None and state != "success":
        reason = (_first_failure(failures) or outcome.get("error")
                  or f"no task reported an error; see the log: {log}")
    return summary(state, reason=reason, outcome=outcome)


def _summarise(spec_id: str, *, store: Any, storage: str, state: str, reason: str | None, outcome: dict[str, Any],
               seconds: float, log: Path, source: str | None = None) -> RunSummary:
    run_id = outcome.get("run_id")
    version = store.read_pointer(layout.latest(spec_id))
    release = rows = None
    if version:
        release = store.uri(layout.release(spec_id, version))
        manifest = store.read_json(layout.release_manifest(spec_id, version))
        rows = int((manifest.get("rows") or {}).get("total", 0))
    report = None
    if run_id:
        key = artifacts.REPORT.key(spec_id, run_id)
        report = store.uri(key) if store.exists(key) else None
    return RunSummary(spec_id=spec_id, run_id=run_id, state=state, seconds=round(seconds, 1), storage=storage,
                      release=release, rows=rows, report=report, log=log, tasks=outcome.get("tasks", {}),
                      reason=reason, source=source)


def _print(summary: RunSummary) -> None:
    ok = summary.state == "success"
    colour = "green" if ok else "red"
    _out.print(f"[bold]{esc(summary.spec_id)}[/bold]: [{colour}]{esc(summary.state)}[/{colour}] in "
               f"{summary.seconds:.0f} s  (run {esc(summary.run_id)})")
    if summary.source:
        _out.print(plain(f"  source: {summary.source}  (bound for this run; the spec is unchanged)"))
    if summary.release:
        _out.print(plain(f"  release: {summary.release}  ({summary.rows} rows)"))
    if summary.report:
        _out.print(plain(f"  QA report: {summary.report}"))
    if not ok:
        if summary.reason:
            _out.print(plain(f"  reason: {summary.reason}"))
        failed = [k for k, v in summary.tasks.items() if v.get("state") == "failed"]
        if failed:
            _out.print(plain(f"  failed tasks: {', '.join(failed)}"))
        _out.print(plain(f"  log: {summary.log}"))


# The `run` and `demo` commands, merged into datadam's top level.
app = typer.Typer()


def _add_commands(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        spec_id: str,
        items: Annotated[int | None, typer.Option(help="items to collect (default: the spec's source)")] = None,
        storage: Annotated[str | None, typer.Option(help="storage root URI (default: the stack's file:// root)")] = (
            None
        ),
        simulate: Annotated[bool, typer.Option(help="simulated annotators label the tasks (demo/test)")] = False,
        annotators: Annotated[int, typer.Option(help="simulated annotators")] = 3,
        error_rate: Annotated[float, typer.Option(
            help="simulated annotators' error rate (reviewers reject wrong labels: a high rate fails semantic "
                 "accuracy and the run waits at the gate for `datadam qa approve|reject`)")] = 0.02,
        timeout: Annotated[float, typer.Option(help="seconds to wait for annotation")] = 7 * 24 * 3600.0,
        source: Annotated[str | None, typer.Option(
            help="this run's data instead of the spec's source (the spec is not changed): s3://bucket/prefix"
                 "?connection=ID, a folder or file:///folder, https://host/list.txt, records.csv|jsonl?text_column="
                 "..., or a YAML file holding a source block")] = None,
    ) -> None:
        """Run one dataset's DAG end to end on the local stack (Airflow dag.test, real Label Studio)."""
        if source is not None:
            try:  # before the stack starts: a bad binding costs nothing
                bind_source(load_catalog().get(spec_id), source)
            except SpecError as exc:
                _err.print(plain(f"error: {exc}"))
                raise typer.Exit(2) from None
            if simulate:
                _err.print(plain(f"error: {SIMULATE_BOUND}"))
                raise typer.Exit(2)
        stack = up()
        with stop_on_sigterm(), watch_run(_err) as on_event:
            summary = run_one(spec_id, stack=stack, storage=storage or stack.storage_root, items=items,
                              simulate=simulate, annotators=annotators, error_rate=error_rate, timeout_s=timeout,
                              source=source, on_event=on_event)
        _print(summary)
        raise typer.Exit(0 if summary.state == "success" else 1)

    @app.command("demo")
    def demo(
        items: Annotated[int, typer.Option(help="items per dataset")] = 60,
        storage: Annotated[str | None, typer.Option(help="storage root URI")] = None,
    ) -> None:
        """Start the stack and run three dataset types end to end with simulated annotators."""
        t0 = time.perf_counter()
        _out.print("starting the local stack (first run installs Label Studio in its own venv) ...")
        stack = up()
        root = storage or stack.storage_root
        summaries = []
        for spec_id in DEMO_SPECS:
            _out.print(f"running [bold]{spec_id}[/bold] with {items} items and 3 simulated annotators ...")
            with stop_on_sigterm():
                summaries.append(run_one(spec_id, stack=stack, storage=root, items=items, simulate=True,
                                         timeout_s=900.0))
            _print(summaries[-1])
            if summaries[-1].state == "stopped":
                break
        table = Table(title=f"datadam demo — {time.perf_counter() - t0:.0f} s")
        for col in ("dataset", "state", "rows", "release"):
            table.add_column(col, overflow="fold")
        for s in summaries:
            table.add_row(*map(plain, (s.spec_id, s.state, s.rows or "-", s.release or "-")))
        _out.print(table)
        _out.print(f"Label Studio: {stack.ls_url}  (see `datadam stack status`; stop with `datadam stack down`)")
        raise typer.Exit(0 if all(s.state == "success" for s in summaries) else 1)


_add_commands(app)
