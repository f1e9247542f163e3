"""``python -m probes.study``: run a study."""

import sys

from probes.study.run import main

sys.exit(main())
