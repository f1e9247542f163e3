"""``python -m study``: run a study."""

import sys

from study.cli import main

sys.exit(main())
