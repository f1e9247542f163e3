"""What an explanation is scored by: ``agreement`` (correlations, word-span mass, baselines, intervals),
``deletion`` (deletion and insertion curves), ``timestamps`` (word times against ground truth) and
``summary`` (per-utterance records aggregated into ``metrics.json``).
"""
