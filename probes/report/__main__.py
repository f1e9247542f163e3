"""``python -m probes.report RUN``: (re)write a run's report."""

from probes.report.run import main

main()
