"""The work folder of a video beside its output, ``OUTPUT.frames/``: what a run has finished, kept until the video
is assembled, so that the same command run again goes on from the next unfinished frame.

- ``work.json``: what the frames are made of (the content's fingerprint, the styles', the network's, every
  setting that changes a frame); a run with other inputs or settings is refused (or, with --overwrite, the
  folder is started over), so frames of two different runs never mix.
- ``NNNNNN.png``: finished frame NNNNNN (0-based), lossless 8-bit RGB, placed atomically: a frame file is
  there whole or not at all. The next frame starts from this file, so a resumed run makes the same frames.
- ``lead-NNNNNN.png``: frame NNNNNN as the next chunk made it in its lead-in (a chunk starts a few frames
  before its range); the video cross-fades from the frames of a chunk to those of the next over them.
- ``chunks.json``: the chunks the run was split into (vgg.video.chunks), ``{"ranges": [[start, end], ...],
  "lead": L}``, when it was; every run that goes on with the folder keeps them. No file: one chunk, no lead.
- ``flow/NNNNNN.npz``: the backward flow of frame NNNNNN (float16) and its reliability labels (int8),
  computed ahead and deleted once the frame is placed.

The folder itself is made under a temporary name with its work.json inside and then renamed into place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, ImageError
from ..files import atomic
from ..files.images import load_image, save_image

MANIFEST = "work.json"
CHUNKS = "chunks.json"
VERSION = 1
_FRAME = re.compile(r"^(\d{6,})\.png$")
_LEAD = re.compile(r"^lead-(\d{6,})\.png$")


@dataclass(frozen=True)
class ChunkPlan:
    """The chunks [start, end) a video is split into, each with ``lead`` frames of lead-in (vgg.video.chunks)."""

    ranges: list[tuple[int, int]]
    lead: int

    def covers(self, count: int) -> bool:
        """Whether the ranges split [0, count) in order, each non-empty, and the lead is not negative."""
        ends = [0] + [b for _, b in self.ranges]  # each chunk starts where the one before ends, the last at count
        starts = [a for a, _ in self.ranges] + [count]
        return self.lead >= 0 and ends == starts and all(a < b for a, b in self.ranges)


class WorkFolder:
    """``OUTPUT.frames/`` (module docstring)."""

    def __init__(self, output: str) -> None:
        self.path = os.path.abspath(output) + ".frames"

    @classmethod
    def at(cls, path: str) -> WorkFolder:
        """The work folder at ``path`` itself (a worker process is handed the folder, not the output)."""
        work = cls.__new__(cls)
        work.path = path
        return work

    def frame_path(self, index: int) -> str:
        return os.path.join(self.path, f"{index:06d}.png")

    def flow_path(self, index: int) -> str:
        return os.path.join(self.path, "flow", f"{index:06d}.npz")

    def manifest(self) -> dict[str, Any] | None:
        """The work.json there, or None when there is no folder; ConfigError for a folder that is not ours."""
        if not os.path.exists(self.path):
            return None
        name = os.path.join(self.path, MANIFEST)
        try:
            with open(name, encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            raise ConfigError(f"{self.path} exists and is not a work folder of this program (no readable "
                              f"{MANIFEST}); move it away") from None  # fmt: skip
        if not isinstance(saved, dict) or saved.get("version") != VERSION:
            raise ConfigError(f"{name}: not a work folder of this version; move it away")
        return saved

    def open(self, manifest: Mapping[str, Any], overwrite: bool, chunks: ChunkPlan | None = None) -> bool:
        """Use the folder for the run ``manifest`` describes: made if missing (split into ``chunks`` if given); True
        if it holds earlier work of the same run (its chunks are kept). Another run's folder is a ConfigError naming
        what differs, or with ``overwrite`` started over."""
        wanted = {"version": VERSION, **manifest}
        saved = self.manifest()
        if saved is not None and saved == json.loads(json.dumps(wanted)):
            os.makedirs(os.path.join(self.path, "flow"), exist_ok=True)
            return True
        if saved is not None:
            if not overwrite:
                what = next((k for k in sorted(set(saved) | set(wanted)) if saved.get(k) != wanted.get(k)), "?")
                raise ConfigError(
                    f"{self.path} holds the frames of another run (its {what} differs); pass --overwrite to start "
                    "over, or run the command that made it"
                )
            shutil.rmtree(self.path)
        self._make(wanted, chunks)
        return False

    def _make(self, manifest: Mapping[str, Any], chunks: ChunkPlan | None) -> None:
        parent = os.path.dirname(self.path)
        try:
            tmp = tempfile.mkdtemp(dir=parent, prefix="." + os.path.basename(self.path) + ".")
            os.mkdir(os.path.join(tmp, "flow"))
            with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=1, sort_keys=True)
            if chunks is not None:
                with open(os.path.join(tmp, CHUNKS), "w", encoding="utf-8") as f:
                    json.dump({"ranges": chunks.ranges, "lead": chunks.lead}, f)
            os.rename(tmp, self.path)
        except OSError as exc:
            raise atomic.write_error(self.path, exc) from None

    def chunks(self, count: int) -> ChunkPlan:
        """The chunks of frames [0, count) the folder was started with (one, without lead, if it was not split);
        ConfigError for a chunks.json that does not split [0, count)."""
        name = os.path.join(self.path, CHUNKS)
        try:
            with open(name, encoding="utf-8") as f:
                saved = json.load(f)
        except FileNotFoundError:
            return ChunkPlan([(0, count)], 0)
        except (OSError, ValueError):
            saved = None
        try:
            plan = ChunkPlan([(int(a), int(b)) for a, b in saved["ranges"]], int(saved["lead"]))
        except (TypeError, KeyError, ValueError):
            plan = None
        if plan is None or not plan.covers(count):
            raise ConfigError(f"{name}: not the chunks of this video's {count} frames; move {self.path} away")
        return plan

    def done(self) -> set[int]:
        """The indices of the finished frames."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return set()
        return {int(m.group(1)) for name in names if (m := _FRAME.match(name))}

    def first_missing(self, start: int, end: int) -> int:
        """The first index in [start, end) with no finished frame; ``end`` when all are there."""
        done = self.done()
        return next((i for i in range(start, end) if i not in done), end)

    def save_frame(self, index: int, image: np.ndarray) -> None:
        save_image(self.frame_path(index), image, overwrite=True)  # a temporary file renamed: whole or not there

    def load_frame(self, index: int) -> np.ndarray:
        return load_image(self.frame_path(index))

    def lead_path(self, index: int) -> str:
        return os.path.join(self.path, f"lead-{index:06d}.png")

    def save_lead(self, index: int, image: np.ndarray) -> None:
        save_image(self.lead_path(index), image, overwrite=True)

    def lead_weights(self) -> dict[int, float]:
        """{frame: the next chunk's share of it}: over each run of lead frames k0..k1, (k - k0 + 1) / (k1 - k0 + 2),
        so that the video goes from one chunk's frames to the next one's in equal steps."""
        try:
            leads = sorted(int(m.group(1)) for name in os.listdir(self.path) if (m := _LEAD.match(name)))
        except FileNotFoundError:
            return {}
        runs: list[list[int]] = []
        for k in leads:
            if runs and runs[-1][-1] == k - 1:
                runs[-1].append(k)
            else:
                runs.append([k])
        return {k: (i + 1) / (len(run) + 1) for run in runs for i, k in enumerate(run)}

    def finished(self, index: int, lead_weights: Mapping[int, float]) -> np.ndarray:
        """Frame ``index`` as the video shows it: cross-faded with the next chunk's lead frame where there is one."""
        frame = self.load_frame(index)
        share = lead_weights.get(index)
        if share is None:
            return frame
        return (1 - share) * frame + share * load_image(self.lead_path(index))

    def save_flow(self, index: int, backward: np.ndarray, labels: np.ndarray) -> None:
        def write(f: Any) -> None:
            np.savez_compressed(f, backward=backward.astype(np.float16), labels=labels.astype(np.int8))

        try:
            atomic.write_atomic(self.flow_path(index), write, overwrite=True)
        except OSError as exc:
            raise atomic.write_error(self.flow_path(index), exc) from None

    def load_flow(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(backward flow float32, labels float32) of frame ``index``, or None if not there (or unreadable)."""
        try:
            with np.load(self.flow_path(index), allow_pickle=False) as data:
                return data["backward"].astype(np.float32), data["labels"].astype(np.float32)
        except (OSError, ValueError, KeyError):
            return None

    def has_flow(self, index: int) -> bool:
        return os.path.exists(self.flow_path(index))

    def drop_flow(self, index: int) -> None:
        try:
            os.unlink(self.flow_path(index))
        except FileNotFoundError:
            pass

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def check_frames(work: WorkFolder, count: int) -> None:
    """ImageError unless frames 0..count-1 are all there: the video is assembled only from finished frames."""
    missing = work.first_missing(0, count)
    if missing < count:
        raise ImageError(f"{work.path}: frame {missing} of {count} is not finished; the video is not assembled")
