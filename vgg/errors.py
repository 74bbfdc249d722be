"""Every error this package raises on bad input or a failed write: each message is one line, fit for a user.

The command line maps them to exit statuses (stylize_cli.py); the Python API raises them as they are.
"""

from __future__ import annotations


class StyleError(Exception):
    """Base class: something the user gave cannot be used (one-line message)."""


class NetworkFileError(StyleError, ValueError):
    """The network file is missing, unreadable, or not one of the VGG-19 files this package reads."""


class ImageError(StyleError, ValueError):
    """An image cannot be read, or an output cannot be written where asked."""


class ConfigError(StyleError, ValueError):
    """A setting is out of range or inconsistent with the inputs."""


class StateError(StyleError, ValueError):
    """A resume state that cannot be resumed (the message names the file and, where it can, the field)."""


class OutputExistsError(ImageError):
    """The output appeared while the run was going and overwriting was not asked for; ``kept`` holds the result."""

    def __init__(self, name: str, kept: str) -> None:
        super().__init__(
            f"{name} appeared while the run was going; not replaced (no --overwrite): the result is in {kept}"
        )
        self.name, self.kept = name, kept


class DownloadError(StyleError):
    """A download failed, or its result is not the expected file."""


class UnknownNetworkWarning(UserWarning):
    """The network file loads but its digest matches no known release."""


class LossNotFiniteError(StyleError, ArithmeticError):
    """The loss became NaN or infinite.

    ``image`` is the best finite image seen so far, already unprocessed (H, W, 3 floats),
    or None when not even the initial image had a finite loss; ``loss`` is its loss and
    ``iteration`` the 0-based iteration after whose step the bad loss was read back (-1: the
    initial image). The loss is read back every iteration on the CPU, so that step produced it;
    on a GPU it is read only every few iterations (StyleConfig.readback_every, 10 by default), so
    the step that first produced it may be up to that many minus one iterations earlier.
    """

    def __init__(self, message: str, iteration: int, image: object = None, loss: float | None = None) -> None:
        super().__init__(message)
        self.iteration, self.image, self.loss = iteration, image, loss
