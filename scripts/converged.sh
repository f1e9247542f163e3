#!/bin/bash
# Converged maps at the paper's SPES resolution (issue 15.6): for each NAME=CHECKPOINT, its first 6
# English ASR test utterances with 2000/2500/3000 segments per 500 frames, masks doubled from 8,192
# until the map's split-half reliability reaches 0.9 (or 131,072 masks), with one seed (a second seed, --reliability,
# would halve the masks each map gets for the same time; the split-half reliability says how well it reproduces).
# Hours per model on 2 CPU cores; resumable per utterance: run it again and it continues where it stopped.
#
#   scripts/converged.sh OUT MANIFEST NAME=CKPT [NAME=CKPT ...]
set -euo pipefail
out=$1 manifest=$2
shift 2
for spec in "$@"; do
  name=${spec%%=*} ckpt=${spec#*=}
  echo "[converged] $name: $ckpt -> $out/$name ($(date -u +%FT%TZ))"
  nice -n 10 .venv/bin/python -m probes.evaluation --ckpt "$ckpt" --manifest "$manifest" --out "$out/$name" \
    --limit 6 --tasks asr --pairs en-en --granularities 2000,2500,3000 --masks 8192 \
    --target-reliability 0.9 --max-masks 131072 --methods spes --beam 5 --no-deletion-decode --no-wandb
done
echo "[converged] done ($(date -u +%FT%TZ))"
