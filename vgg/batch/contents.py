"""What a batch is made of: --content's files and folders as a list of items, each with a name, and the file
names of each item from patterns with ``{name}`` in them.

A folder stands for the images directly in it (not in subfolders), sorted by name, whose extension is one of
``EXTENSIONS`` (any case); hidden files (a leading dot: our own temporary files among them) are left out. An
item's name is its file name without the extension; two items of one name are an error naming both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import ConfigError
from ..files.patterns import escape

EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
NAME = "{name}"


def item_name(path: str) -> str:
    """The name an item's files are given: the content's file name without its extension."""
    return os.path.splitext(os.path.basename(path))[0]


def folder_images(folder: str) -> list[str]:
    """The images directly in ``folder`` (see the module docstring), sorted by file name."""
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        raise ConfigError(f"--content {folder}: cannot be listed ({exc.strerror or exc})") from None
    found = []
    for entry in entries:
        path = os.path.join(folder, entry)
        if not entry.startswith(".") and entry.lower().endswith(EXTENSIONS) and os.path.isfile(path):
            found.append(path)
    return found


def expand(paths: Sequence[str]) -> tuple[list[str], set[str]]:
    """The content files --content names, in order (each folder's images sorted), and those that came from a
    folder (a batch may leave those out: vgg.cli.batch). ConfigError for a path that is neither, an empty folder,
    and two contents of one name."""
    files: list[str] = []
    from_folders: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            images = folder_images(path)
            if not images:
                raise ConfigError(f"--content {path}: a folder with no images in it ({', '.join(EXTENSIONS)})")
            files += images
            from_folders.update(images)
        elif os.path.exists(path):
            files.append(path)
        else:
            raise ConfigError(f"--content {path}: no such file or folder")
    check_names(files)
    return files, from_folders


def check_names(files: Sequence[str]) -> None:
    """ConfigError naming both files when two contents have one name (their outputs would be one file)."""
    seen: dict[str, str] = {}
    for path in files:
        name = item_name(path)
        if name in seen:
            if os.path.realpath(seen[name]) == os.path.realpath(path):
                raise ConfigError(f"--content {path} is given twice")
            raise ConfigError(
                f"--content {seen[name]} and {path} have the same name {name!r}: their outputs would be one file "
                "(rename one, or run them apart)"
            )
        seen[name] = path


def fill(template: str, name: str, pattern: bool = False) -> str:
    """``template`` with ``{name}`` replaced by the item's name; ``pattern``: a checkpoint pattern, in whose file
    name the item's name is written so that it stays literal text ('%' and braces escaped)."""
    directory, base = os.path.split(template)
    if pattern and NAME in base:
        try:
            base = base.replace(NAME, escape(base.replace(NAME, ""), name))
        except ConfigError as exc:
            raise ConfigError(f"--checkpoint-output {template}: the name {exc}") from None
        return os.path.join(directory.replace(NAME, name), base)
    return template.replace(NAME, name)


def output_template(output: str, content: str) -> str:
    """--output as a template: a folder (existing, or ending in a separator) gets ``{name}`` and the content's
    own extension; anything else is taken as it is."""
    if output.endswith(os.sep) or os.path.isdir(output):
        return os.path.join(output, NAME + os.path.splitext(content)[1])
    return output
