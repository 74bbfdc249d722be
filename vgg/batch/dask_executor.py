"""run_tasks on Dask distributed (vgg.batch.executor): a LocalCluster of worker processes, or a running scheduler.

One Dask task per Task. A task reports its start and progress to the client through Dask's events
(``log_event`` in the worker, ``subscribe_topic`` here) and returns its value with the worker's address and its
seconds. A worker process that dies during a task is replaced by its nanny and Dask runs the task again on
another worker (up to ``distributed.scheduler.allowed-failures`` times, then the task fails). A stop is pushed to
the workers as a worker plugin (so that a worker that joins later has it too): running tasks see
``context.stopping()``, tasks that had not started return at once without running.

This module imports Dask; vgg.batch.executor imports it only when a run asks for workers or a cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import dask
from distributed import Client, Future, LocalCluster, get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.scheduler import KilledWorker

from .executor import (
    FAILED,
    FINISHED,
    PROGRESS,
    RESTARTED,
    STARTED,
    STOPPING,
    ExecutorOptions,
    Finished,
    Stop,
    Task,
    TaskEvent,
    one_line,
)

PROGRESS_EVERY = 0.5  # seconds between a task's progress events (the first and the last always go)
POLL = 0.05  # seconds between looks at the futures and the events
WORKERS_EVERY = 2.0  # seconds between looks at the scheduler's workers
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_STOPPED: set[str] = set()  # in a worker process: the runs whose tasks are to stop
_NOT_RUN = "not run: the run was stopped before this task started"


class _IgnoreTerminalSignals(WorkerPlugin):
    """Local workers are in the terminal's process group, so Ctrl-C and a closed terminal reach them too: they
    ignore both, and the client asks their tasks to stop."""

    def setup(self, worker: Any) -> None:
        with contextlib.suppress(ValueError):  # not the main thread: nothing to do
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)


class _StopPlugin(WorkerPlugin):
    """The stop of run ``token``, on every worker, those that join later included."""

    def __init__(self, token: str) -> None:
        self.token = token

    def setup(self, worker: Any) -> None:
        _STOPPED.add(self.token)


class _WorkerContext:
    """The TaskContext of a task in a worker process."""

    def __init__(self, key: str, token: str) -> None:
        self.worker_obj = get_worker()
        self.worker, self.key, self.token = self.worker_obj.address, key, token
        self.sent = 0.0

    def send(self, kind: str, done: int = 0, total: int = 0) -> None:
        message = {"kind": kind, "key": self.key, "worker": self.worker, "done": done, "total": total}
        self.worker_obj.log_event(self.token, message)

    def stopping(self) -> bool:
        return self.token in _STOPPED

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.sent and done < total and now - self.sent < PROGRESS_EVERY:
            return
        self.sent = now
        self.send(PROGRESS, done, total)


def _call(function: Callable[[Any, Any], Any], payload: Any, key: str, token: str) -> tuple[Any, str, float]:
    """In the worker: the task, with its context; (value, worker, seconds), or _NOT_RUN after a stop."""
    context = _WorkerContext(key, token)
    if context.stopping():
        return _NOT_RUN, context.worker, 0.0
    context.send(STARTED)
    start = time.monotonic()
    value = function(payload, context)
    return value, context.worker, time.monotonic() - start


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Dask's warnings (a worker restarted, a connection retried) are not shown: the batch says what matters."""
    names = ["distributed", *(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))]
    levels = {name: logging.getLogger(name).level for name in names}  # Dask's config sets some children's own
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _environment_kept() -> Iterator[None]:
    """The nanny sets the workers' variables in this process's environment before spawning them: put it back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _local_cluster(options: ExecutorOptions) -> LocalCluster:
    """N worker processes on 127.0.0.1, one thread each, the machine's cores divided among their BLAS; no memory
    limit of Dask's (each item checks its own estimate against the memory available); the scheduler's small web
    server (Dask always starts one) on a free port of 127.0.0.1."""
    threads = options.threads or max(1, (os.cpu_count() or 1) // options.workers)
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **dict.fromkeys(THREAD_VARIABLES, threads)}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(
            n_workers=options.workers, processes=True, threads_per_worker=1, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", memory_limit=0, silence_logs=logging.CRITICAL,
        )  # fmt: skip


def _connect(options: ExecutorOptions) -> tuple[Client, LocalCluster | None]:
    if options.cluster is not None:
        return Client(options.cluster, set_as_default=False), None
    cluster = _local_cluster(options)
    try:
        client = Client(cluster, set_as_default=False)
        client.register_plugin(_IgnoreTerminalSignals(), name="vgg-ignore-terminal-signals")
    except BaseException:
        cluster.close()
        raise
    return client, cluster


def worker_count(options: ExecutorOptions, timeout: float = 10.0) -> int | None:
    """The workers of the scheduler at ``options.cluster`` that have the tasks' resources; None if it cannot be
    reached within ``timeout`` seconds."""
    with _quiet_logs():
        try:
            with Client(options.cluster, timeout=timeout, set_as_default=False) as client:
                workers = client.scheduler_info().get("workers", {}).values()
        except Exception:  # OSError, TimeoutError: run() reports it when it tries
            return None
    return len(_able(workers, options.resources or {}))


def _able(workers: Any, wanted: Mapping[str, float]) -> list[Any]:
    """The workers (the scheduler's records) that have ``wanted`` resources."""
    return [w for w in workers if all(w.get("resources", {}).get(r, 0) >= n for r, n in wanted.items())]


def run(tasks: Sequence[Task], options: ExecutorOptions, on_event: Callable[[TaskEvent], None], stop: Stop) -> Finished:
    """The tasks on Dask (vgg.batch.executor.run_tasks)."""
    finished = Finished()
    where = f"the Dask scheduler at {options.cluster}" if options.cluster else "the local Dask cluster"
    with _quiet_logs(), _environment_kept():
        try:
            client, cluster = _connect(options)
        except Exception as exc:  # OSError, TimeoutError, and whatever a failed start raises
            verb = "cannot reach" if options.cluster else "could not start"
            finished.lost = f"{verb} {where} ({one_line(exc)})"
            return finished
        try:
            _Run(client, where, tasks, options, on_event, stop, finished).wait()
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=10)
    finished.stopped = stop.signum
    return finished


class _Run:
    """The client's side of one run: submit, then watch events, futures, workers and the stop."""

    def __init__(self, client: Client, where: str, tasks: Sequence[Task], options: ExecutorOptions,
                 on_event: Callable[[TaskEvent], None], stop: Stop, finished: Finished) -> None:  # fmt: skip
        self.client, self.where, self.options, self.on_event = client, where, options, on_event
        self.stop, self.finished, self.token = stop, finished, f"vgg-run-{uuid.uuid4().hex}"
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.running: dict[str, str] = {}  # key -> worker, of the tasks started and not ended
        self.stop_sent: float | None = None
        self.no_workers_since: float | None = None
        self.workers_seen = 0.0
        client.subscribe_topic(self.token, lambda event: self.events.put(event[1]))
        resources = dict(options.resources) if options.resources else None
        self.pending: dict[Future, str] = {
            client.submit(_call, t.function, t.payload, t.key, self.token, key=f"{self.token}-{n}",
                          resources=resources, pure=False): t.key
            for n, t in enumerate(tasks)
        }  # fmt: skip

    def wait(self) -> None:
        while self.pending:
            self._drain()
            for future in [f for f in self.pending if f.done()]:
                self._end(future, self.pending.pop(future))
            if self.finished.lost is not None:
                return
            if self.stop and self._stopped():
                return
            self._watch_workers()
            time.sleep(POLL)
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                message = self.events.get_nowait()
            except queue.Empty:
                return
            key, worker = message["key"], message["worker"]
            if key in self.finished.ended:
                continue
            if message["kind"] == STARTED:
                kind = RESTARTED if key in self.running else STARTED
                self.running[key] = worker
                self.on_event(TaskEvent(kind, key, worker))
            elif message["kind"] == PROGRESS and key in self.running:
                self.on_event(TaskEvent(PROGRESS, key, worker, message["done"], message["total"]))

    def _end(self, future: Future, key: str) -> None:
        if future.status == "cancelled":
            if self.stop_sent is None:
                self.finished.lost = f"{self.where} went away"
            return
        if future.status == "finished":
            value, worker, seconds = future.result()
            if isinstance(value, str) and value == _NOT_RUN:
                return
            self._drain()  # its start, if it is still on its way
            event = TaskEvent(FINISHED, key, worker, value=value, seconds=seconds)
        else:
            event = TaskEvent(FAILED, key, self.running.get(key, ""), error=self._reason(future.exception()))
        self.running.pop(key, None)
        self.finished.ended[key] = event
        self.on_event(event)

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, KilledWorker):
            allowed = dask.config.get("distributed.scheduler.allowed-failures")
            return f"the worker running it died {allowed + 1} times (out of memory?)"
        return one_line(exc)

    def _stopped(self) -> bool:
        """After a stop: ask the tasks to stop (once); True when it is time to leave without the rest."""
        now = time.monotonic()
        if self.stop_sent is None:
            self.stop_sent = now
            self.on_event(TaskEvent(STOPPING, ""))
            with contextlib.suppress(Exception):
                self.client.register_plugin(_StopPlugin(self.token), name=f"{self.token}-stop")
        if now - self.stop_sent < self.options.stop_wait:
            return False
        self.client.cancel(list(self.pending))
        return True

    def _watch_workers(self) -> None:
        """Give up (``finished.lost``) when the scheduler has had no worker that can take the tasks for
        ``lost_after`` seconds, or cannot be asked for that long."""
        now = time.monotonic()
        if now - self.workers_seen < WORKERS_EVERY:
            return
        self.workers_seen = now
        try:
            workers = self.client.scheduler_info().get("workers", {}).values()
        except Exception:  # the scheduler cannot be asked: as good as no worker
            workers = []
        wanted = self.options.resources or {}
        able = _able(workers, wanted)
        if able:
            self.no_workers_since = None
            return
        self.no_workers_since = self.no_workers_since or now
        if now - self.no_workers_since >= self.options.lost_after:
            need = " with " + ", ".join(f"{r}={n:g}" for r, n in wanted.items()) if wanted else ""
            self.finished.lost = f"{self.where} has had no worker{need} for {self.options.lost_after:g} s"
