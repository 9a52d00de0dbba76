"""Run webapp with ``python -m webapp``."""

import sys

from webapp.cli import main

sys.exit(main())
