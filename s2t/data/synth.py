"""Generate the synthetic multilingual speech corpus: audio, transcripts, translations, ground truth.

Sentences come from a synchronous grammar (``s2t.data.grammar``), so every utterance has its
translations and the exact source-target word alignment. Audio is assembled from words
synthesised once per speaker by espeak-ng (``s2t.data.espeak``), with short random pauses,
edge silence and optional light noise, so the word start/end times are exact to the sample.

Every audio file is one utterance in its source language; the manifest holds one row per
(utterance, task, target language): ASR in the source language, and when ``st`` is among the
tasks, translation from English into every other language and from every other language
into English. Splits never share a source sentence, and each split's content depends only on
(seed, split, language), so growing ``--train`` leaves the test set unchanged.

Usage: ``python -m s2t.data.synth --out data/synth --langs en,it,es,fr,de --seed 1``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from queue import Empty, Queue
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from s2t.data.espeak import Speaker, WordCache
from s2t.data.frames import Sentence
from s2t.data.grammar import LANGUAGES, Grammar
from s2t.data.manifest import (
    SAMPLE_RATE,
    TASKS,
    ManifestRow,
    WordAlignment,
    num_frames,
    sidecar_path,
    write_alignments,
    write_manifest,
)
from s2t.usage import prog

SPLITS = ("test", "valid", "train")  # generation order: held-out sentences are drawn first
ACCENTS = {  # espeak-ng voices per language (regional accents where espeak has them; "en" is British)
    "en": ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc"),
    "it": ("it",),
    "es": ("es", "es-419"),
    "fr": ("fr", "fr-be", "fr-ch"),
    "de": ("de",),
}
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")


@dataclass(frozen=True)
class SynthConfig:
    """What to generate; defaults give the default corpus (all languages, ASR and ST)."""

    out: Path
    langs: tuple[str, ...] = LANGUAGES
    tasks: tuple[str, ...] = TASKS
    counts: dict[str, int] = field(default_factory=lambda: {"train": 4000, "valid": 200, "test": 200})
    seed: int = 1
    speakers: int = 8  # per language
    rate_wpm: tuple[int, int] = (140, 195)
    pitch: tuple[int, int] = (30, 70)
    pause_s: tuple[float, float] = (0.0, 0.08)  # between words
    long_pause_prob: float = 0.1
    long_pause_s: tuple[float, float] = (0.15, 0.35)
    edge_s: tuple[float, float] = (0.05, 0.3)  # silence before the first and after the last word
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (20.0, 40.0)
    max_words: int = 16

    def __post_init__(self) -> None:
        unknown = sorted(set(self.langs) - set(ACCENTS))
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; the generator speaks {', '.join(ACCENTS)}")
        bad_tasks = sorted(set(self.tasks) - set(TASKS))
        if bad_tasks or not self.tasks:
            raise ValueError(f"tasks must be a non-empty subset of {TASKS}, got {self.tasks}")
        if any(n < 0 for n in self.counts.values()):
            raise ValueError(f"utterance counts must be >= 0, got {self.counts}")


def make_speakers(lang: str, n: int, config: SynthConfig) -> list[Speaker]:
    """The language's speakers: accents and variants spread evenly, rate and pitch drawn."""
    rng = random.Random(f"{config.seed}-speakers-{lang}")
    accents, variants = ACCENTS[lang], rng.sample(VARIANTS, len(VARIANTS))
    return [
        Speaker(
            id=f"{lang}-spk{i:02d}",
            lang=lang,
            voice=f"{accents[i % len(accents)]}+{variants[i % len(variants)]}",
            rate=rng.randint(*config.rate_wpm),
            pitch=rng.randint(*config.pitch),
        )
        for i in range(n)
    ]


def render(
    words: tuple[str, ...], speaker: Speaker, cache: WordCache, rng: random.Random, config: SynthConfig
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Assemble an utterance from cached words; returns (samples,) audio and word times in seconds."""

    def silence(lo: float, hi: float) -> np.ndarray:
        return np.zeros(int(rng.uniform(lo, hi) * SAMPLE_RATE), dtype=np.float32)

    pieces, times = [silence(*config.edge_s)], []
    cursor = len(pieces[0])
    for i, word in enumerate(words):
        if i > 0:
            long_pause = rng.random() < config.long_pause_prob
            gap = silence(*(config.long_pause_s if long_pause else config.pause_s))
            pieces.append(gap)
            cursor += len(gap)
        wav = cache.get(word, speaker) * rng.uniform(0.7, 1.0)
        pieces.append(wav)
        times.append((word, round(cursor / SAMPLE_RATE, 5), round((cursor + len(wav)) / SAMPLE_RATE, 5)))
        cursor += len(wav)
    pieces.append(silence(*config.edge_s))
    audio = np.concatenate(pieces)
    if rng.random() < config.noise_prob:
        audio = add_noise(audio, rng.uniform(*config.snr_db), np.random.default_rng(rng.getrandbits(32)))
    return audio, times


def add_noise(audio: np.ndarray, snr_db: float, gen: np.random.Generator) -> np.ndarray:
    """Add white noise at the given signal-to-noise ratio (signal power over the whole utterance)."""
    power = float((audio**2).mean()) or 1e-8
    noise = gen.standard_normal(len(audio)).astype(np.float32) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(audio + noise, -1.0, 1.0)


def st_targets(src: str, langs: tuple[str, ...]) -> list[str]:
    """Translation directions: English into every other language, every other language into English."""
    if src == "en":
        return [t for t in langs if t != "en"]
    return ["en"] if "en" in langs else []


def rows_for(
    audio_id: str, audio_path: str, frames: int, sentence: Sentence, lang: str, speaker: Speaker,
    times: list[tuple[str, float, float]], config: SynthConfig,
) -> list[tuple[ManifestRow, WordAlignment]]:
    """The manifest rows (and their ground truth) of one utterance."""
    targets = ([("asr", lang)] if "asr" in config.tasks else []) + (
        [("st", t) for t in st_targets(lang, config.langs)] if "st" in config.tasks else []
    )
    src_text = sentence.text(lang)
    out = []
    for task, tgt in targets:
        row_id = f"{audio_id}-{task}" if task == "asr" else f"{audio_id}-{task}-{tgt}"
        tgt_words = sentence.words[tgt]
        links = [(i, i) for i in range(len(tgt_words))] if task == "asr" else sentence.alignment(lang, tgt)
        row = ManifestRow(row_id, audio_path, frames, src_text, sentence.text(tgt), lang, tgt, task, speaker.id)
        out.append((row, WordAlignment(row_id, times, list(tgt_words), links)))
    return out


def draw_sentences(grammar: Grammar, lang: str, n: int, rng: random.Random, seen: set[str]) -> list[Sentence]:
    """Draw n sentences whose source text in ``lang`` was not drawn before (across splits)."""
    out, attempts = [], 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise RuntimeError(f"the grammar ran out of new {lang} sentences after {len(out)} of {n}")
        sentence = grammar.sample(rng)
        text = sentence.text(lang)
        if text not in seen:
            seen.add(text)
            out.append(sentence)
    return out


Items = dict[str, list[tuple[ManifestRow, WordAlignment]]]  # split -> rows with their ground truth


def synthesize_language(config: SynthConfig, lang: str, progress: Queue | None = None) -> tuple[Items, int]:
    """Write every split's audio of one language; returns its rows by split and the words synthesised.

    Runs in a fresh worker process per language: espeak-ng carries state from one synthesis
    to the next (its pitch flutter, for one), so a word's audio depends on what the process
    synthesised before. A process per language makes the audio a function of the seed and
    the language's own counts only.
    """
    grammar = Grammar(config.langs, max_words=config.max_words)
    cache = WordCache()
    speakers = make_speakers(lang, config.speakers, config)
    seen: set[str] = set()
    items: Items = {}
    for split in SPLITS:
        rng = random.Random(f"{config.seed}-{split}-{lang}")
        folder = config.out / "wav" / split / lang
        folder.mkdir(parents=True, exist_ok=True)
        items[split] = []
        for i, sentence in enumerate(draw_sentences(grammar, lang, config.counts.get(split, 0), rng, seen)):
            speaker = rng.choice(speakers)
            audio, times = render(sentence.words[lang], speaker, cache, rng, config)
            audio_id = f"{lang}-{split}-{i:06d}"
            rel = f"wav/{split}/{lang}/{audio_id}.wav"
            sf.write(config.out / rel, audio, SAMPLE_RATE, subtype="PCM_16")
            items[split] += rows_for(audio_id, rel, num_frames(len(audio)), sentence, lang, speaker, times, config)
            if progress is not None:
                progress.put(1)
    return items, len(cache)


def run_workers(config: SynthConfig, jobs: int, bar: tqdm) -> tuple[list[Items], int]:
    """Synthesise the languages in parallel, one fresh process each, updating the progress bar."""
    context = mp.get_context("forkserver")  # children forked from a clean server: no inherited espeak state
    context.set_forkserver_preload(["s2t.data.espeak", "s2t.data.grammar"])
    with context.Manager() as manager, ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        queue = manager.Queue()
        futures = [pool.submit(synthesize_language, config, lang, queue) for lang in config.langs]
        while not all(f.done() for f in futures):
            try:
                bar.update(queue.get(timeout=0.2))
            except Empty:
                pass
        results = [f.result() for f in futures]  # re-raises a worker's error
    bar.update(bar.total - bar.n)
    return [items for items, _ in results], sum(words for _, words in results)


def generate(config: SynthConfig, progress: bool = True, jobs: int | None = None) -> dict[str, Path]:
    """Write the corpus under ``config.out`` with ``jobs`` worker processes; returns each split's manifest."""
    jobs = jobs or min(len(config.langs), os.cpu_count() or 1)
    total = sum(config.counts.get(s, 0) for s in SPLITS) * len(config.langs)
    bar = tqdm(total=total, unit="utt", desc="synthesising", disable=not progress)
    start = time.perf_counter()
    per_language, words = run_workers(config, jobs, bar)
    bar.close()
    manifests = {}
    for split in SPLITS:
        items = [item for lang_items in per_language for item in lang_items[split]]
        manifests[split] = config.out / f"{split}.tsv"
        write_manifest(manifests[split], (row for row, _ in items))
        write_alignments(sidecar_path(manifests[split]), (align for _, align in items))
    elapsed = time.perf_counter() - start
    info = {
        "config": config_record(config),
        "speakers": [asdict(s) for lang in config.langs for s in make_speakers(lang, config.speakers, config)],
        "utterances": total,
        "seconds": round(elapsed, 2),
        "words_synthesised": words,
    }
    (config.out / "corpus.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    if progress:
        print(f"{total} utterances in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f} utt/s, {jobs} processes), "
              f"{words} words synthesised; manifests in {config.out}", file=sys.stderr)
    return manifests


def parse_args(argv: list[str] | None = None) -> tuple[SynthConfig, bool, int | None, bool]:
    """Command-line options: a SynthConfig, whether to show progress, the number of processes, --force."""
    defaults = SynthConfig(out=Path("."))
    p = argparse.ArgumentParser(
        prog=prog("s2t.data.synth"),
        description="Generate the synthetic multilingual speech corpus (espeak-ng) with exact word times "
        "and source-target word alignments: wav files, one manifest TSV per split, JSONL ground truth.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--langs", default=",".join(defaults.langs), help="comma-separated source languages (default: %(default)s)")
    p.add_argument("--tasks", default=",".join(defaults.tasks), help="asr, st or asr,st (default: %(default)s); st pairs go to and from English")
    for split in ("train", "valid", "test"):
        p.add_argument(f"--{split}", type=int, default=defaults.counts[split], help=f"utterances per language in {split} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="the corpus is a function of the seed (default: %(default)s)")
    p.add_argument("--speakers", type=int, default=defaults.speakers, help="speakers per language (default: %(default)s)")
    p.add_argument("--noise-prob", type=float, default=defaults.noise_prob, help="share of utterances with light white noise (default: %(default)s)")
    p.add_argument("--max-words", type=int, default=defaults.max_words, help="longest sentence in words (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per language, at most the CPU count)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="regenerate even if OUT already holds this corpus")
    a = p.parse_args(argv)
    try:
        config = SynthConfig(
            out=a.out, langs=tuple(a.langs.split(",")), tasks=tuple(a.tasks.split(",")),
            counts={"train": a.train, "valid": a.valid, "test": a.test}, seed=a.seed, speakers=a.speakers,
            noise_prob=a.noise_prob, max_words=a.max_words,
        )
    except ValueError as err:
        p.error(str(err))
    return config, not a.quiet, a.jobs, a.force


def config_record(config: SynthConfig) -> dict:
    """The settings as stored in ``corpus.json``."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}


def already_generated(config: SynthConfig) -> bool:
    """Whether ``config.out`` holds a finished corpus made with exactly these settings."""
    info = config.out / "corpus.json"
    if not info.is_file() or not all((config.out / f"{split}.tsv").is_file() for split in SPLITS):
        return False
    return json.loads(info.read_text()).get("config") == json.loads(json.dumps(config_record(config)))


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m s2t.data.synth``."""
    config, progress, jobs, force = parse_args(argv)
    if not force and already_generated(config):
        print(f"{config.out} already holds this corpus (corpus.json has the same settings); --force regenerates it",
              file=sys.stderr)
        return
    generate(config, progress=progress, jobs=jobs)


if __name__ == "__main__":
    main()
