"""Studies: a matrix of models trained, tested and explained, and one report across them (``python -m study``).

The study sits above ``s2t`` and ``probes`` and reaches them through their entry points: each step runs
``python -m s2t.train`` or ``python -m probes.evaluation`` in a subprocess. ``cli`` is the command; ``config``
reads the study file; ``run`` takes each model through its steps: ``train``, ``quality`` (its test), ``explain``
(with ``settings``: a finished run's settings against the study file's), each through ``runner`` (subprocesses,
ledger, locks); ``reuse`` takes models from committed results, ``aside`` sets runs aside, ``rescore`` recomputes
scores from saved maps and ``export`` copies the light results. ``models`` reads a study folder back, ``paired``
compares runs utterance by utterance, ``findings`` checks the paper's findings on it, ``differences`` says what
differs from the paper's setting, and ``tables`` and ``report`` write the study report (``python -m study.report``).
"""
