"""How a batch ended: each item's outcome, the lines that say it, and the exit status.

The exit status is 128 + the signal's number when a signal stopped the batch (130 for Ctrl-C, 143, 129), 1 when
an item failed or the executor gave up, else 0 (items skipped because they were finished count as success).
"""

from __future__ import annotations

from dataclasses import dataclass

DONE, SKIPPED, FAILED, INTERRUPTED, NOT_RUN = "done", "skipped", "failed", "interrupted", "not done"


@dataclass(frozen=True)
class ItemOutcome:
    """One item's end: ``status`` (DONE, SKIPPED, FAILED, INTERRUPTED, NOT_RUN), ``reason`` (one line: why it
    failed or was skipped, where its image went), ``worker`` and ``seconds`` where it ran."""

    name: str
    status: str
    reason: str = ""
    worker: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Summary:
    """The outcome of every item, in the batch's order; ``stopped``: the signal that stopped it; ``lost``: why
    the executor gave up."""

    outcomes: tuple[ItemOutcome, ...]
    stopped: int | None = None
    lost: str | None = None

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def exit_status(self) -> int:
        if self.stopped is not None:
            return 128 + self.stopped
        return 1 if self.count(FAILED) or self.count(NOT_RUN) or self.lost else 0

    def lines(self) -> list[str]:
        """What the batch says at its end: the counts, then a line per item that failed or was interrupted."""
        counts = [f"{self.count(s)} {s}" for s in (DONE, SKIPPED, FAILED, INTERRUPTED, NOT_RUN) if self.count(s)]
        total = len(self.outcomes)
        out = [f"{total} item{'s' if total != 1 else ''}: {', '.join(counts) or 'nothing to do'}"]
        out += [f"{o.status}: {o.name}: {o.reason}" for o in self.outcomes if o.status in (FAILED, INTERRUPTED)]
        out += [f"skipped: {o.name}: {o.reason}" for o in self.outcomes if o.status == SKIPPED and o.reason]
        if self.lost is not None:
            out.append(f"gave up: {self.lost}; every finished output is kept")
        if self.count(NOT_RUN) or self.count(INTERRUPTED):
            out.append("the same command again skips what is finished and does the rest")
        return out
