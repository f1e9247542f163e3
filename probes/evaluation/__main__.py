"""``python -m probes.evaluation``: the command of ``evaluate.py``."""

import sys

from probes.evaluation.cli import main

sys.argv[0] = "python -m probes.evaluation"  # the name --help shows
sys.exit(main())
