"""``python -m dlbook ...``: the same as the ``dlbook`` command."""
import sys

from dlbook.cli import main

sys.exit(main())
