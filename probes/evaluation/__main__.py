"""``python -m probes.evaluation``: the command of ``evaluate.py``."""

import sys

from probes.evaluation.cli import main

sys.exit(main())
