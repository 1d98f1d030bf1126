"""``python -m l0``: the same as the ``l0`` command."""

import sys

from l0.cli import main

sys.exit(main())
