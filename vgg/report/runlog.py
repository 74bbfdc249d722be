"""--log FILE: the run as JSON lines, one object a line, flushed as they come.

The first line (``"event": "start"``) holds the settings, the seed, the versions and the machine; then
one line per read-back of the loss (``"event": "losses"``): the iteration (vgg.style.loop's numbering:
the losses of the image after ``iteration`` steps), the stage, the four losses, the style loss of each
layer, the seconds since the log was made (the CLI makes it once the network is loaded, before the
style targets are computed) and the peak memory so far; a checkpoint or the end adds a line naming its
iteration. A resumed run given the same file appends to it, its own start line first.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import numpy as np
import PIL
import scipy

import minigrad as mg

from ..files import atomic
from ..style.config import StyleConfig
from ..style.loop import Checkpoint, End, Event, LossesRead
from .listeners import Listener


def versions() -> dict[str, str]:
    return {
        "minigrad-style": mg.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pillow": PIL.__version__,
    }


def machine(backend: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "backend": backend,
    }
    if backend == "cupy":
        cuda = mg.backend.array_module("cupy").cuda
        info["device"] = cuda.runtime.getDeviceProperties(cuda.Device().id)["name"].decode()
    return info


def host_peak_bytes() -> int:
    """The process's peak resident memory so far (bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def device_pool_bytes() -> int:
    """The bytes CuPy's default memory pool holds now (what it took from the GPU and keeps)."""
    return int(mg.backend.array_module("cupy").get_default_memory_pool().total_bytes())


class RunLog(Listener):
    """Writes the run's JSON lines to ``path`` (opened at the first event, closed with the run); without
    ``overwrite`` an existing file is never opened (FileExistsError); with ``append`` it is added to.
    Seconds count from the making of the log; on a GPU the peak of CuPy's pool is that of the read-backs."""

    def __init__(
        self,
        path: str | os.PathLike,
        config: StyleConfig,
        extra: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        overwrite: bool = True,
        append: bool = False,
    ) -> None:
        self.path, self.config, self.extra, self.clock = path, config, dict(extra or {}), clock
        self.overwrite, self.append = overwrite, append
        self.file: TextIO | None = None
        self.start = self.clock()
        self.pool_peak = 0

    def peak_memory(self) -> dict[str, int]:
        out = {"host_peak_bytes": host_peak_bytes()}
        if self.config.backend == "cupy":
            self.pool_peak = max(self.pool_peak, device_pool_bytes())
            out["device_pool_peak_bytes"] = self.pool_peak
        return out

    def _line(self, record: Mapping[str, Any]) -> None:
        if self.file is None:
            return
        self.file.write(json.dumps(record, sort_keys=True) + "\n")
        self.file.flush()

    def _open(self) -> None:
        self.file = atomic.open_stream(os.fspath(self.path), self.overwrite, self.append)
        settings = json.loads(self.config.to_json())
        head = {"event": "start", "settings": settings, "seed": self.config.seed, **self.extra}
        self._line({**head, "versions": versions(), "machine": machine(self.config.backend)})

    def on(self, event: Event) -> None:
        if self.file is None:
            self._open()
        if isinstance(event, LossesRead):
            record = {"event": "losses", "iteration": event.i, "stage": event.stage, "losses": event.losses}
            record.update(style_layers=event.style_layers, seconds=self.clock() - self.start)
            self._line({**record, **self.peak_memory()})
        elif isinstance(event, Checkpoint):
            self._line({"event": "checkpoint", "iteration": event.i, "stage": event.stage})
        elif isinstance(event, End):
            self._line({"event": "end", "seconds": self.clock() - self.start})

    def failed(self) -> None:
        if self.file is not None:
            self._line({"event": "not finite", "seconds": self.clock() - self.start})

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
