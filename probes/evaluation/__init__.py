"""``evaluate.py``: explain every utterance of a manifest and publish the results.

``cli`` parses the command line, ``utterances`` reads the manifest, ``run`` explains (sharded,
resumable) and merges, ``publish`` writes the report and the W&B run. ``python -m probes.evaluation``
runs it.
"""
