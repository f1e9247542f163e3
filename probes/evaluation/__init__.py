"""``evaluate.py``: explain every utterance of a manifest and publish the results.

``cli`` parses the command line, ``identity`` digests the explained model, ``utterances`` reads the
manifest, ``run`` explains (sharded, resumable, ``progress`` its bar) and merges, ``publish`` writes the
report and the W&B run (its panels from ``wandb_panels``). ``python -m probes.evaluation`` runs it.
"""
