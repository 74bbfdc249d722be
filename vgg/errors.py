"""The errors the style package raises on bad input: each message is one line, fit for a user."""

from __future__ import annotations


class StyleError(Exception):
    """Base class: something the user gave cannot be used (one-line message)."""


class NetworkFileError(StyleError, ValueError):
    """The network file is missing, unreadable or not MatConvNet's VGG-19."""


class ImageError(StyleError, ValueError):
    """An image cannot be read, or an output cannot be written where asked."""


class ConfigError(StyleError, ValueError):
    """A setting is out of range or inconsistent with the inputs."""


class UnknownNetworkWarning(UserWarning):
    """The network file loads but its MD5 matches neither known release."""


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
