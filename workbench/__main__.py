"""``python -m workbench``: starts the ``workbench`` command, whose face is the top-level ``cli`` package.

This is the entry point ``python -m`` looks for under the core package's name, not a module of the
library: nothing imports it, and it is the one file under ``workbench/`` that imports a face
(``tests/test_layers.py`` names it).
"""

import sys

from cli import main

sys.exit(main())
