"""Peak GPU memory in use, measured the same way for us and for PyTorch.

Ours: a peak-tracking allocator hook around CuPy's default memory pool: after every allocation
it reads the bytes the pool has handed out and not had back (``used_bytes``), so the peak is the
most ever in use at once, not what the pool holds on to afterwards. PyTorch's counterpart is
``torch.cuda.max_memory_allocated`` (its caching allocator's bytes in use at the peak).
"""

from __future__ import annotations

from typing import Any


class PeakTracker:
    """Installed as CuPy's allocator: ``malloc`` is the pool's, with the peak of used_bytes kept."""

    def __init__(self, cupy: Any) -> None:
        self.cupy = cupy
        self.pool = cupy.get_default_memory_pool()
        self.peak = self.pool.used_bytes()
        cupy.cuda.set_allocator(self.malloc)

    def malloc(self, nbytes: int) -> Any:
        memory = self.pool.malloc(nbytes)
        self.peak = max(self.peak, self.pool.used_bytes())
        return memory

    def reset(self) -> None:
        """Start the peak again from what is in use now."""
        self.peak = self.pool.used_bytes()

    def report(self) -> dict[str, float]:
        return {"gpu_peak_mb": self.peak / 2**20, "gpu_pool_total_mb": self.pool.total_bytes() / 2**20}


def device_used_mb(cupy: Any) -> float:
    """Device memory in use by everyone (cudaMemGetInfo), for where no pool can be asked."""
    free, total = cupy.cuda.runtime.memGetInfo()
    return (total - free) / 2**20


def torch_peak(torch: Any) -> dict[str, float]:
    return {"gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20}
