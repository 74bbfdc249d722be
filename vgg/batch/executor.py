"""Running independent tasks one after another in this process, or as Dask tasks on worker processes.

The interface, which knows nothing of images (a batch of photos uses it; so can videos or chunks of one):

- ``Task(key, function, payload)``: ``function(payload, context)`` returns the task's value. On Dask it runs
  in a worker process, so ``function`` must be importable there (a module-level function of an installed
  package) and ``payload`` and the value picklable. It should poll ``context.stopping()`` now and then (a
  style transfer does at each iteration) and return early, with what it has, when that is true;
  ``context.progress(done, total)`` says how far it is; ``context.worker`` names where it runs.
- ``ExecutorOptions(workers=N)``: N local worker processes (Dask ``LocalCluster`` on 127.0.0.1, BLAS threads
  divided among them); ``cluster=ADDRESS``: a running Dask scheduler; neither: serially, in this process.
- ``run_tasks(tasks, options, on_event)`` calls ``on_event(TaskEvent)`` in the calling thread as tasks start,
  progress, restart (their worker died: Dask runs them again elsewhere), finish or fail, and once when the run
  is stopping, and returns a
  ``Finished``: the outcome of each task that ended, the signal that stopped the run if one did, and why the
  executor gave up if it did (a scheduler that cannot be reached or went away, no workers left).

Stopping: while ``run_tasks`` runs, a first Ctrl-C, SIGTERM or SIGHUP does not raise. No further task is
started (those not started end as not run), ``context.stopping()`` turns true in the running ones, and
``run_tasks`` waits for them to return. A second one is handled as it would have been without us (the CLI's
handlers raise), so that the caller can leave at once.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ConfigError
from ..sighandlers import installed

STARTED, PROGRESS, RESTARTED, FINISHED, FAILED = "started", "progress", "restarted", "finished", "failed"
STOPPING = "stopping"  # once, when the run has seen a stop (no key)
LOCAL = "this process"
EXTRA = "pip install -e '.[cluster]'"
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class TaskContext(Protocol):
    """What a task's function is given besides its payload (see the module docstring)."""

    worker: str

    def stopping(self) -> bool: ...

    def progress(self, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class Task:
    key: str
    function: Callable[[Any, TaskContext], Any]
    payload: Any


@dataclass(frozen=True)
class ExecutorOptions:
    """Where tasks run. ``resources``: what each task needs of a worker on a cluster (e.g. {"GPU": 1}, for
    workers started with ``--resources GPU=1``); ``threads``: BLAS threads of each local worker (default: this
    machine's cores divided among the workers); ``lost_after``: seconds without any worker after which the
    run gives up; ``stop_wait``: seconds to wait for the running tasks after a stop."""

    workers: int | None = None
    cluster: str | None = None
    resources: Mapping[str, float] | None = None
    threads: int | None = None
    lost_after: float = 30.0
    stop_wait: float = 120.0

    @property
    def distributed(self) -> bool:
        return self.workers is not None or self.cluster is not None


@dataclass(frozen=True)
class TaskEvent:
    """``kind``: STARTED, PROGRESS (``done`` of ``total``), RESTARTED (the worker died), FINISHED (``value``),
    FAILED (``error``, one line) or STOPPING (``key`` empty); ``seconds``: the task's own time when it ended."""

    kind: str
    key: str
    worker: str = ""
    done: int = 0
    total: int = 0
    value: Any = None
    error: str = ""
    seconds: float = 0.0


@dataclass
class Finished:
    """``ended``: the FINISHED or FAILED event of each task that ended, by key; ``stopped``: the signal number
    that stopped the run (None: not stopped); ``lost``: why the executor gave up (None: it did not)."""

    ended: dict[str, TaskEvent] = field(default_factory=dict)
    stopped: int | None = None
    lost: str | None = None


def one_line(exc: BaseException) -> str:
    """An unexpected exception of a task as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_options(options: ExecutorOptions) -> None:
    """ConfigError for options that cannot work: both, a worker count below 1, or Dask not installed."""
    if options.workers is not None and options.cluster is not None:
        raise ConfigError("--workers starts a cluster on this machine and --cluster uses a running one: give one")
    if options.workers is not None and options.workers < 1:
        raise ConfigError(f"--workers must be 1 or more, got {options.workers}")
    if options.distributed:
        try:
            import distributed  # noqa: F401 - only whether it is there
        except ImportError:
            flag = "--workers" if options.workers is not None else "--cluster"
            raise ConfigError(f"{flag} needs Dask distributed, which is not installed: {EXTRA}") from None


class Stop:
    """The first stopping signal during run_tasks (its number), recorded instead of raised."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None


@contextlib.contextmanager
def stop_on_signals(stop: Stop) -> Iterator[None]:
    """Within the block the first stopping signal sets ``stop``; a second goes to the handler there was before
    (the CLI's raise). Outside the main thread nothing changes."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if not stop:
            stop.signum = signum
            return
        for s, h in previous.items():
            signal.signal(s, h)
        before = previous[signum]
        if callable(before):
            before(signum, frame)
        else:
            signal.raise_signal(signum)

    with installed(dict.fromkeys(STOPPING_SIGNALS, handler)) as before:
        previous.update(before or {})
        yield


class _LocalContext:
    def __init__(self, stop: Stop, on_event: Callable[[TaskEvent], None]) -> None:
        self.worker, self.stop, self.on_event, self.key = LOCAL, stop, on_event, ""
        self.told = False

    def stopping(self) -> bool:
        if self.stop and not self.told:  # said here, in the task's thread, not in the signal handler
            self.told = True
            self.on_event(TaskEvent(STOPPING, ""))
        return bool(self.stop)

    def progress(self, done: int, total: int) -> None:
        self.on_event(TaskEvent(PROGRESS, self.key, LOCAL, done, total))


def run_serial(tasks: Sequence[Task], on_event: Callable[[TaskEvent], None], stop: Stop) -> Finished:
    """Each task in turn in this process, until a stop."""
    finished = Finished()
    context = _LocalContext(stop, on_event)
    for task in tasks:
        if context.stopping():
            break
        context.key = task.key
        on_event(TaskEvent(STARTED, task.key, LOCAL))
        start = time.monotonic()
        try:
            value = task.function(task.payload, context)
        except Exception as exc:  # a task's own failure ends that task, not the run
            event = TaskEvent(FAILED, task.key, LOCAL, error=one_line(exc), seconds=time.monotonic() - start)
        else:
            event = TaskEvent(FINISHED, task.key, LOCAL, value=value, seconds=time.monotonic() - start)
        finished.ended[task.key] = event
        on_event(event)
    finished.stopped = stop.signum
    return finished


def worker_count(options: ExecutorOptions) -> int | None:
    """How many tasks can run at once: 1 serially, N local workers, or the workers a running cluster has now (that
    have ``resources``); None when the cluster cannot be asked (run_tasks then says why)."""
    if options.cluster is None:
        return options.workers or 1
    from . import dask_executor

    return dask_executor.worker_count(options)


def run_tasks(tasks: Sequence[Task], options: ExecutorOptions, on_event: Callable[[TaskEvent], None]) -> Finished:
    """Run ``tasks`` where ``options`` say (see the module docstring)."""
    check_options(options)
    if not tasks:  # nothing to run: no cluster is started for it
        return Finished()
    stop = Stop()
    with stop_on_signals(stop):
        if not options.distributed:
            return run_serial(tasks, on_event, stop)
        from . import dask_executor  # Dask is imported only here: the program without it needs nothing new

        return dask_executor.run(tasks, options, on_event, stop)
