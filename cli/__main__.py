"""``python -m cli``: the ``workbench`` command (``python -m workbench`` starts the same)."""

import sys

from cli import main

sys.exit(main())
