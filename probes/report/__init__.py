"""Reports: ``run`` writes one evaluation's report.md from its metrics and records, with ``tables``
(numbers and tables, shared with the study report) and the figures (``plots``: their style and
``save``; a ``*_plot`` module per kind of figure); ``paper`` holds the reference numbers of the
paper. ``python -m probes.report RUN`` rewrites a run's report.
"""
