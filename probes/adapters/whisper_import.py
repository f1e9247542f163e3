"""Import a CTranslate2 (faster-whisper) conversion of Whisper as a Hugging Face Whisper folder.

    crossprobe-import-whisper SRC [SRC ...] --out DEST [--force]

SRC is a CTranslate2 Whisper folder (``model.bin``, ``config.json``, ``tokenizer.json``,
``vocabulary.txt`` or ``vocabulary.json``), or several folders that hold ``model.bin`` split
into ``model.bin.part1``, ``model.bin.part2``, ... (joined in part order). DEST becomes what
``save_pretrained`` writes and ``WhisperProbe.from_pretrained(DEST)`` and ``evaluate.py --hf DEST``
read: ``WhisperForConditionalGeneration`` in float32, its ``WhisperProcessor`` and a generation
config as OpenAI's Hugging Face checkpoints have it (alignment heads, languages, tasks, ...).

``model.bin`` is read with numpy (``whisper_model_bin``; CTranslate2 itself is not needed) and
its variables are mapped to Hugging Face's parameters (``whisper_weights``). Only an exact
conversion is made: float32, float16 and bfloat16 weights (exact in float32); int8 or int16
weights, another spec or revision, an incomplete file, a missing part, config or tokenizer are
refused with one sentence, exit status 2. DEST appears only when complete: it is written beside
it under a temporary name, then renamed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from probes.adapters.whisper_model_bin import WhisperImportError, model_bin_parts, read_model_bin
from probes.adapters.whisper_weights import state_dict
from s2t.usage import prog

MULTILINGUAL_VOCAB = 51865  # OpenAI's rule: English-only Whispers have 51864 tokens, multilingual ones more


def find_file(sources: Sequence[Path], names: Sequence[str], what: str) -> Path:
    """The first of ``names`` found in the source folders; refused when none is there."""
    for folder in sources:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    raise WhisperImportError(f"{', '.join(map(str, sources))}: no {' or '.join(names)} ({what})")


def read_vocabulary(path: Path) -> list[str]:
    """CTranslate2's vocabulary: a JSON list (vocabulary.json) or one token a line (vocabulary.txt)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return list(json.loads(text))
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def tokenizer(tokenizer_json: Path, vocabulary: list[str]) -> Any:
    """The ``WhisperTokenizer`` of tokenizer.json, completed with the tokens CTranslate2 appended (timestamps)."""
    from transformers import WhisperTokenizer

    with tempfile.TemporaryDirectory() as folder:
        shutil.copy2(tokenizer_json, Path(folder) / "tokenizer.json")
        tok = WhisperTokenizer.from_pretrained(folder)
    if len(tok) < len(vocabulary):
        tok.add_tokens(vocabulary[len(tok):], special_tokens=False)  # "<|0.00|>" ... "<|30.00|>", as OpenAI's have them
    ours = tok.convert_ids_to_tokens(list(range(len(tok))))
    first = next((i for i, (a, b) in enumerate(zip(ours, vocabulary)) if a != b), None)
    if len(ours) != len(vocabulary) or first is not None:
        where = f"at id {first} ({ours[first]!r} against {vocabulary[first]!r})" if first is not None else \
            f"in size ({len(ours)} against {len(vocabulary)} tokens)"
        raise WhisperImportError(f"{tokenizer_json} and the model's vocabulary differ {where}")
    return tok


def token_id(tok: Any, name: str) -> int:
    """The id of a special token the tokenizer must have."""
    i = tok.convert_tokens_to_ids(name)
    if i is None or (i == tok.unk_token_id and name != tok.unk_token):
        raise WhisperImportError(f"the tokenizer lacks Whisper's {name}")
    return int(i)


def generation_config(tok: Any, ct2_config: dict[str, Any], sizes: dict[str, int]) -> Any:
    """Whisper's generation settings as OpenAI's Hugging Face checkpoints have them, from the tokenizer and config.json."""
    from transformers import GenerationConfig
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    eot, sot = token_id(tok, "<|endoftext|>"), token_id(tok, "<|startoftranscript|>")
    multilingual = sizes["vocab_size"] >= MULTILINGUAL_VOCAB
    fields: dict[str, Any] = {
        "alignment_heads": [list(pair) for pair in ct2_config.get("alignment_heads") or []] or None,
        "begin_suppress_tokens": list(ct2_config.get("suppress_ids_begin") or []),
        "suppress_tokens": list(ct2_config.get("suppress_ids") or []),
        "bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot, "decoder_start_token_id": sot,
        "is_multilingual": multilingual, "max_initial_timestamp_index": 50,
        "max_length": sizes["max_target_positions"], "no_timestamps_token_id": token_id(tok, "<|notimestamps|>"),
        "prev_sot_token_id": token_id(tok, "<|startofprev|>"), "return_timestamps": False,
    }
    if multilingual:
        vocab = tok.get_vocab()
        fields["lang_to_id"] = {f"<|{code}|>": vocab[f"<|{code}|>"] for code in LANGUAGES if f"<|{code}|>" in vocab}
        fields["task_to_id"] = {task: token_id(tok, f"<|{task}|>") for task in ("transcribe", "translate")}
    return GenerationConfig(**{k: v for k, v in fields.items() if v is not None})


def feature_extractor(sources: Sequence[Path], n_mels: int) -> Any:
    """Whisper's feature extractor for n_mels bins: the sources' preprocessor_config.json, else OpenAI's defaults."""
    from transformers import WhisperFeatureExtractor

    found = [s for s in sources if (s / "preprocessor_config.json").is_file()]
    extractor = WhisperFeatureExtractor.from_pretrained(found[0]) if found else WhisperFeatureExtractor(feature_size=n_mels)
    if extractor.feature_size != n_mels:
        raise WhisperImportError(f"{found[0]}/preprocessor_config.json has {extractor.feature_size} mel bins, the "
                                 f"model reads {n_mels}")
    return extractor


def load(sources: Sequence[Path]) -> tuple[Any, Any, dict[str, Any]]:
    """The Hugging Face model, processor and provenance of a CTranslate2 Whisper in the source folders."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration, WhisperProcessor

    parts = model_bin_parts(sources)
    label = str(parts[0]) if parts[0].name == "model.bin" else f"model.bin joined from {', '.join(map(str, parts))}"
    model_bin = read_model_bin(b"".join(p.read_bytes() for p in parts), label)
    params, sizes = state_dict(model_bin, label)
    ct2_config = json.loads(find_file(sources, ["config.json"], "CTranslate2's model config").read_text())
    vocabulary = read_vocabulary(find_file(sources, ["vocabulary.json", "vocabulary.txt"], "the model's vocabulary"))
    if len(vocabulary) != sizes["vocab_size"]:
        raise WhisperImportError(f"the vocabulary has {len(vocabulary)} tokens, the model {sizes['vocab_size']}")
    tok = tokenizer(find_file(sources, ["tokenizer.json"], "the tokenizer"), vocabulary)
    generation = generation_config(tok, ct2_config, sizes)
    config = WhisperConfig(**sizes, bos_token_id=generation.bos_token_id, eos_token_id=generation.eos_token_id,
                           pad_token_id=generation.pad_token_id, decoder_start_token_id=generation.decoder_start_token_id)
    model = WhisperForConditionalGeneration(config)
    try:
        model.load_state_dict(params, strict=True)
    except RuntimeError as err:
        raise WhisperImportError(f"{label} does not fit a Whisper of its own sizes: {str(err).splitlines()[-1].strip()}") from None
    model.generation_config = generation
    processor = WhisperProcessor(feature_extractor=feature_extractor(sources, sizes["num_mel_bins"]), tokenizer=tok)
    provenance = {"sources": [str(p.resolve()) for p in parts], "spec": model_bin.spec, "revision": model_bin.revision,
                  "stored_dtype": model_bin.dtype, "parameters": model.num_parameters(),
                  "alignment_heads": getattr(generation, "alignment_heads", None)}
    return model.eval().to(torch.float32), processor, provenance


def import_whisper(sources: Sequence[Path], dest: Path, force: bool = False) -> dict[str, Any]:
    """Convert the sources into DEST (replaced only with ``force``); DEST appears only once complete. Its provenance."""
    if dest.exists() and not force:
        raise WhisperImportError(f"{dest} exists; pass --force to replace it")
    model, processor, provenance = load(sources)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        model.save_pretrained(staging)
        processor.save_pretrained(staging)
        (staging / "crossprobe_import.json").write_text(json.dumps(provenance, indent=1) + "\n")
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            dest.rename(old / dest.name)
            shutil.rmtree(old)
        staging.chmod(0o755)  # mkdtemp's 0o700 would keep the folder from other users
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return provenance


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``crossprobe-import-whisper`` and ``python -m probes.adapters.whisper_import``; the exit status."""
    p = argparse.ArgumentParser(prog=prog("probes.adapters.whisper_import"), description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="+", type=Path, metavar="SRC",
                   help="a CTranslate2 Whisper folder, or the folders holding its model.bin.part1, .part2, ...")
    p.add_argument("--out", type=Path, required=True, metavar="DEST",
                   help="the Hugging Face folder to write (WhisperProbe.from_pretrained, evaluate.py --hf)")
    p.add_argument("--force", action="store_true", help="replace DEST if it exists")
    a = p.parse_args(argv)
    start = time.monotonic()
    try:
        provenance = import_whisper(a.sources, a.out, a.force)
    except (WhisperImportError, OSError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"imported a Whisper of {provenance['parameters'] / 1e6:.1f}M parameters ({provenance['stored_dtype']} "
          f"-> float32) into {a.out} in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
