"""The resume state beside each checkpoint image, as the run goes (the format is vgg.files.state)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import OutputExistsError
from ..files.state import save_state, state_name
from ..style.loop import Checkpoint, Event
from .listeners import Listener


class StateWriter(Listener):
    """Saves ``run.state()`` beside each checkpoint image (``name_of(i)``, see state_name); with ``keep``
    > 0 only the newest ``keep`` of the states it wrote stay: an older one is deleted once a newer one is
    in place (0 keeps them all). Files it did not write (the state a run was resumed from) stay.

    A write that fails (OSError: disk full, directory gone) goes to ``on_error(name, exc)``, the first one
    only, and the run goes on; without ``on_error`` it is raised. A state whose name appeared meanwhile
    (without ``overwrite``) is kept under a temporary name and each one goes to ``on_error``.
    """

    def __init__(
        self,
        run: Any,
        name_of: Callable[[int], str],
        meta: Mapping[str, Any],
        on_error: Callable[[str, Exception], None] | None = None,
        overwrite: bool = True,
        keep: int = 0,
    ) -> None:
        self.run, self.name_of, self.meta, self.on_error = run, name_of, dict(meta), on_error
        self.overwrite, self.keep = overwrite, keep
        self.failed_once = False
        self.written: list[str] = []

    def on(self, event: Event) -> None:
        if not isinstance(event, Checkpoint):
            return
        name = state_name(self.name_of(event.i))
        try:
            save_state(name, self.run.state(), self.meta, self.overwrite)
            self._written(name)
        except OutputExistsError as exc:
            if self.on_error is None:
                raise
            self.on_error(name, exc)
        except OSError as exc:
            if self.on_error is None:
                raise
            if not self.failed_once:
                self.on_error(name, exc)
            self.failed_once = True

    def _written(self, name: str) -> None:
        """Record ``name``; delete what is beyond the newest ``keep`` (one that cannot be deleted stays)."""
        self.written = [n for n in self.written if n != name] + [name]
        while self.keep > 0 and len(self.written) > self.keep:
            try:
                os.unlink(self.written.pop(0))
            except OSError:
                pass
