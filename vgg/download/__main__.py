"""python -m vgg.download (see vgg.download.command)."""

import sys

from .command import main

sys.exit(main())
