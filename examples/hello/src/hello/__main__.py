"""Run hello with ``python -m hello``."""

import sys

from hello.cli import main

sys.exit(main())
