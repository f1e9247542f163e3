"""Transcribe (and translate) audio files with a trained checkpoint.

    python -m s2t.transcribe --ckpt CKPT a.wav b.flac [--lang en] [--translate-to it] [--beam 5]

Prints one line per file and task: ``FILE<TAB>TASK<TAB>LANG<TAB>TEXT``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from s2t.data.audio import AudioError, load_audio
from s2t.features import FeatureError, fbank
from s2t.models import Encoded
from s2t.module import CheckpointMismatchError, S2TModule
from s2t.usage import prog


def transcribe(module: S2TModule, path: Path, jobs: list[tuple[str, str]], beam_size: int) -> list[str]:
    """Decode one file once per (task, target language) job, encoding it once."""
    feats = fbank(torch.from_numpy(load_audio(path)))  # (T, 80)
    with torch.no_grad():
        encoded = module.model.encode(feats[None], torch.tensor([feats.shape[0]]))  # batch of one
    # the same encoding for every job: (jobs, ...) views, no copies
    encoded = Encoded(*(None if t is None else t.expand(len(jobs), *t.shape[1:]) for t in encoded))
    return module.search(encoded, [tgt for _, tgt in jobs], [task for task, _ in jobs], beam_size)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m s2t.transcribe``."""
    p = argparse.ArgumentParser(prog=prog("s2t.transcribe"), description=__doc__.split("\n\n")[0])
    p.add_argument("--ckpt", type=Path, required=True, help="a checkpoint written by train.py")
    p.add_argument("audio", nargs="+", type=Path, help="audio files (any sample rate; resampled to 16 kHz)")
    p.add_argument("--lang", help="language spoken in the audio (default: the model's first language)")
    p.add_argument("--translate-to", action="append", default=[], metavar="LANG", help="also translate into LANG (repeatable)")
    p.add_argument("--beam", type=int, default=5, help="beam size (1 = greedy; default %(default)s)")
    a = p.parse_args(argv)
    try:
        module = S2TModule.from_checkpoint(a.ckpt)
    except CheckpointMismatchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tok = module.tokenizer
    lang = a.lang or tok.languages[0]
    jobs = [("asr", lang)] + [("st", t) for t in a.translate_to]
    for task, tgt in jobs:
        if task not in tok.tasks or tgt not in tok.languages:
            print(f"error: the model knows languages {tok.languages} and tasks {tok.tasks}; cannot do {task} into {tgt}", file=sys.stderr)
            return 2
    status = 0
    for path in a.audio:
        try:
            for (task, tgt), text in zip(jobs, transcribe(module, path, jobs, a.beam)):
                print(f"{path}\t{task}\t{tgt}\t{text}", flush=True)
        except (AudioError, FeatureError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
