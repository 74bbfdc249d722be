"""python -m vgg.download: fetch the VGG-19 weights, resumably, and check them against the known releases.

``main(argv)`` is the command (vgg.download.command); the transfer itself is vgg.download.resumable and
its progress line vgg.download.progress.
"""

from .command import default_target, download, download_first, main, verify

__all__ = ["default_target", "download", "download_first", "main", "verify"]
