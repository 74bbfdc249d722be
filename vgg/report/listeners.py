"""What listens to the loop's events (vgg.style.loop): the contract, and how events reach listeners.

A listener has ``on(event)``, ``failed()`` (the loss stopped being finite) and ``close()``;
``broadcast`` hands each event to every listener before passing it on. The reports of this package
(vgg.report.*) and every front end (the CLI, a batch, a page) listen this way; none reaches into the loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..errors import LossNotFiniteError
from ..style.loop import Event


class Listener:
    def on(self, event: Event) -> None:
        pass

    def failed(self) -> None:
        pass

    def close(self) -> None:
        pass


def broadcast(events: Iterator[Event], listeners: Sequence[Listener]) -> Iterator[Event]:
    """``events``, each seen by every listener first; listeners are closed however the run ends."""
    try:
        for event in events:
            for listener in listeners:
                listener.on(event)
            yield event
    except LossNotFiniteError:
        for listener in listeners:
            listener.failed()
        raise
    finally:
        for listener in listeners:
            listener.close()
