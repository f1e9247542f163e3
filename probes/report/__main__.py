"""``python -m probes.report RUN``: (re)write a run's report."""

from probes.report.run_report import main

main()
