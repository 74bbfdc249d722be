"""The video extra: PyAV (decode, encode) and OpenCV (optical flow). Checked before any video work starts, so
that a video asked for without it is one line naming the extra, and nothing imports them before that."""

from __future__ import annotations

import importlib

from ..errors import ConfigError

INSTALL = "pip install -e '.[video]'"
MODULES = {"av": "PyAV", "cv2": "opencv-python-headless"}


def require(what: str) -> None:
    """ConfigError, one line, unless the video extra's modules import; ``what``: what needed them (a flag)."""
    for module, package in MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"{what} needs the video extra ({package} is not installed here: {exc}); install it with: {INSTALL}"
            ) from None


def available() -> bool:
    """Whether the video extra is installed (its modules import)."""
    try:
        require("video")
    except ConfigError:
        return False
    return True
