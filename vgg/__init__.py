"""VGG-19 from MatConvNet's .mat and the neural-style loop (Gatys et al.) on minigrad."""

from .errors import (
    ConfigError,
    ImageError,
    LossNotFiniteError,
    NetworkFileError,
    StyleError,
    UnknownNetworkWarning,
)
from .losses import CONTENT_LAYERS, STYLE_LAYERS, Losses, Objective
from .matconvnet import KNOWN_MD5, URL, load_vgg19, read_vgg19_mat
from .model import VGG19, VGG19_LAYERS, random_vgg19
from .stylize import Run, StyleConfig, stylize

__all__ = [
    "CONTENT_LAYERS",
    "KNOWN_MD5",
    "STYLE_LAYERS",
    "URL",
    "VGG19",
    "VGG19_LAYERS",
    "ConfigError",
    "ImageError",
    "LossNotFiniteError",
    "Losses",
    "NetworkFileError",
    "Objective",
    "Run",
    "StyleConfig",
    "StyleError",
    "UnknownNetworkWarning",
    "load_vgg19",
    "random_vgg19",
    "read_vgg19_mat",
    "stylize",
]
