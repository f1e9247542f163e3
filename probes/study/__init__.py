"""Studies: ``run`` trains, tests and explains a matrix of models (``python -m probes.study``);
``models`` reads a study folder back; ``findings`` checks the paper's findings on it, ``differences``
says what differs from the paper's setting, and ``report`` writes the study report
(``python -m probes.study.report``).
"""
