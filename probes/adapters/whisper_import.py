"""Import a CTranslate2 (faster-whisper) conversion of Whisper as a Hugging Face Whisper folder.

    crossprobe-import-whisper SRC [SRC ...] --out DEST [--force]

SRC is a CTranslate2 Whisper folder (``model.bin``, ``config.json``, ``tokenizer.json``,
``vocabulary.txt`` or ``vocabulary.json``), or several folders that hold ``model.bin`` split
into ``model.bin.part1``, ``model.bin.part2``, ... (joined in part order). DEST becomes what
``save_pretrained`` writes and ``WhisperProbe.from_pretrained(DEST)`` and ``evaluate.py --hf DEST``
read: ``WhisperForConditionalGeneration`` in float32, its ``WhisperProcessor`` and a generation
config as OpenAI's Hugging Face checkpoints have it (alignment heads, languages, tasks, ...).

``model.bin`` is read here with numpy (CTranslate2 itself is not needed): a header (binary
version, spec name, spec revision, variable count), then each variable (name, shape, type,
bytes), then aliases (a variable equal to another stored once, e.g. the output projection
tied to the embeddings). Only an exact conversion is made: float32, float16 and bfloat16
weights (exact in float32); int8 or int16 weights, another spec or revision, an incomplete
file, a missing part, config or tokenizer are refused with one sentence, exit status 2.
DEST appears only when complete: it is written beside it under a temporary name, then renamed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

BINARY_VERSION = 6  # CTranslate2's model.bin layout (specs/model_spec.py CURRENT_BINARY_VERSION)
SPEC = "WhisperSpec"
REVISION = 3  # specs/whisper_spec.py: the weights layout read here
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # type ids of model.bin, in this order
FLOATS = ("float32", "float16", "bfloat16")  # exact in float32
GELU = 3  # CTranslate2's Activation.GELU
MULTILINGUAL_VOCAB = 51865  # OpenAI's rule: English-only Whispers have 51864 tokens, multilingual ones more
ALL = slice(None)
Source = tuple[str, slice]  # a CTranslate2 variable and the rows a Hugging Face parameter takes from it


class WhisperImportError(ValueError):
    """A model that cannot be converted exactly; the message says why in one sentence."""


@dataclass(frozen=True)
class ModelBin:
    """The variables of a CTranslate2 model.bin, float ones as float32 arrays, aliases resolved."""

    spec: str
    revision: int
    dtype: str  # the float type its weights were stored in
    variables: dict[str, np.ndarray]


class Cursor:
    """Reads model.bin's little-endian fields in order; ``EOFError`` where the bytes end."""

    def __init__(self, data: bytes) -> None:
        """Start at the first byte."""
        self.data, self.at = memoryview(data), 0

    def take(self, n: int) -> memoryview:
        """The next n bytes (a view, not a copy)."""
        if self.at + n > len(self.data):
            raise EOFError
        self.at += n
        return self.data[self.at - n:self.at]

    def unpack(self, fmt: str) -> int:
        """One integer of struct format fmt (H, B, I)."""
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        """A length-prefixed, NUL-terminated UTF-8 string."""
        return bytes(self.take(self.unpack("H"))[:-1]).decode("utf-8")


def model_bin_parts(sources: Sequence[Path]) -> list[Path]:
    """model.bin of the one source, or model.bin.part1..N across the sources in part order."""
    whole = [s / "model.bin" for s in sources if (s / "model.bin").is_file()]
    parts = {int(p.name.rsplit("part", 1)[1]): p for s in sources for p in s.glob("model.bin.part*")
             if p.name.rsplit("part", 1)[1].isdigit()}
    if whole and (parts or len(whole) > 1):
        raise WhisperImportError(f"{', '.join(map(str, whole + sorted(parts.values())))}: more than one model.bin; "
                                 "give the folders of one model only")
    if whole:
        return whole
    if not parts:
        raise WhisperImportError(f"{', '.join(map(str, sources))}: no model.bin nor model.bin.part1, .part2, ...")
    missing = [f"model.bin.part{k}" for k in range(1, max(parts) + 1) if k not in parts]
    if missing:
        raise WhisperImportError(f"{', '.join(missing)} missing (found {', '.join(p.name for _, p in sorted(parts.items()))}):"
                                 " give every folder that holds a part")
    return [parts[k] for k in sorted(parts)]


def array(raw: memoryview, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """A variable's bytes as an array: float types as float32 (exactly), integers as they are."""
    if dtype == "bfloat16":  # the upper half of a float32
        return (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    values = np.frombuffer(raw, dtype).reshape(shape)
    return values.astype(np.float32) if dtype in FLOATS else values.copy()


def read_model_bin(data: bytes, label: str) -> ModelBin:
    """Parse model.bin's bytes (label names the file in errors); refuses what is not an exact Whisper."""
    cursor = Cursor(data)
    try:
        version = cursor.unpack("I")
        if version != BINARY_VERSION:
            raise WhisperImportError(f"{label} has binary version {version}; this importer reads only version "
                                     f"{BINARY_VERSION}, whose layout it knows")
        spec, revision, count = cursor.string(), cursor.unpack("I"), cursor.unpack("I")
    except (EOFError, UnicodeDecodeError, struct.error):
        raise WhisperImportError(f"{label} is too short or garbled to be a CTranslate2 model.bin") from None
    if spec != SPEC or revision != REVISION:
        raise WhisperImportError(f"{label} holds a {spec} of revision {revision}; this importer reads only "
                                 f"{SPEC} revision {REVISION}, whose layout it knows")
    variables: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    try:
        for _ in range(count):
            name = cursor.string()
            shape = tuple(cursor.unpack("I") for _ in range(cursor.unpack("B")))
            type_id, size = cursor.unpack("B"), cursor.unpack("I")
            raw = cursor.take(size)
            if type_id >= len(DTYPES):
                raise WhisperImportError(f"{label}: variable {name} has unknown type id {type_id}")
            types[name] = DTYPES[type_id]
            variables[name] = array(raw, types[name], shape)
    except (EOFError, UnicodeDecodeError):
        raise WhisperImportError(f"{label} holds {len(variables)} of the {count} variables its header announces: "
                                 "the file is incomplete") from None
    except WhisperImportError:
        raise
    except ValueError as err:  # a size that does not match the shape
        raise WhisperImportError(f"{label}: variable {len(variables) + 1} of {count} is garbled ({err})") from None
    try:
        aliases = [(cursor.string(), cursor.string()) for _ in range(cursor.unpack("I"))]
    except (EOFError, UnicodeDecodeError):
        raise WhisperImportError(f"{label} holds its {count} variables but its aliases end early: the file is "
                                 "incomplete") from None
    if cursor.at != len(data):
        raise WhisperImportError(f"{label} has {len(data) - cursor.at} bytes after its last entry: not one model.bin")
    for alias, target in aliases:
        if target not in variables:
            raise WhisperImportError(f"{label}: alias {alias} names {target}, which the file lacks")
        variables[alias], types[alias] = variables[target], types[target]
    return ModelBin(spec, revision, stored_dtype(types, label), variables)


def stored_dtype(types: dict[str, str], label: str) -> str:
    """The float type of the weights; quantised (integer) weights are refused."""
    quantised = sorted(name for name, t in types.items() if t not in FLOATS and (name.endswith("/weight")
                                                                               or name.endswith("_scale")))
    if quantised:
        raise WhisperImportError(f"{label} holds {types[quantised[0]]} weights ({quantised[0]} and "
                                 f"{len(quantised) - 1} more): quantised weights cannot be converted exactly; convert "
                                 "the model again with quantization float16 or float32")
    weights = {t for name, t in types.items() if name.endswith("/weight")}
    return "/".join(sorted(weights)) or "float32"


def linear(hf: str, ct2: str) -> dict[str, Source]:
    """A linear or convolution layer: weight (out, in[, k]) and bias (out,) as they are."""
    return {f"{hf}.weight": (f"{ct2}/weight", ALL), f"{hf}.bias": (f"{ct2}/bias", ALL)}


def norm(hf: str, ct2: str) -> dict[str, Source]:
    """A layer norm: CTranslate2's gamma and beta."""
    return {f"{hf}.weight": (f"{ct2}/gamma", ALL), f"{hf}.bias": (f"{ct2}/beta", ALL)}


def stacked(hf: str, ct2: str, projections: Sequence[str], d: int) -> dict[str, Source]:
    """Projections stacked in one CTranslate2 linear ((len * d, d) weight): rows j*d..(j+1)*d are projection j.

    Hugging Face's k_proj has no bias and CTranslate2 stores zeros there; a key bias would add
    q . b to every key of a query alike, which softmax ignores, so dropping it is exact anyway.
    """
    out: dict[str, Source] = {}
    for j, name in enumerate(projections):
        rows = slice(j * d, (j + 1) * d)
        out[f"{hf}.{name}.weight"] = (f"{ct2}/weight", rows)
        if name != "k_proj":
            out[f"{hf}.{name}.bias"] = (f"{ct2}/bias", rows)
    return out


def layer_sources(side: str, i: int, d: int) -> dict[str, Source]:
    """One encoder or decoder layer's Hugging Face parameters and where CTranslate2 keeps them."""
    hf, ct2 = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
    out = {**stacked(f"{hf}.self_attn", f"{ct2}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"), d),
           **linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1"),
           **norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm"),
           **linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0"), **linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1"),
           **norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")}
    if side == "decoder":
        out |= {**stacked(f"{hf}.encoder_attn", f"{ct2}/attention/linear_0", ("q_proj",), d),
                **stacked(f"{hf}.encoder_attn", f"{ct2}/attention/linear_1", ("k_proj", "v_proj"), d),
                **linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2"),
                **norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")}
    return out


def sources(encoder_layers: int, decoder_layers: int, d: int) -> dict[str, Source]:
    """Every parameter of ``WhisperForConditionalGeneration`` and the CTranslate2 variable rows it comes from."""
    out = {**linear("model.encoder.conv1", "encoder/conv1"), **linear("model.encoder.conv2", "encoder/conv2"),
           "model.decoder.embed_tokens.weight": ("decoder/embeddings/weight", ALL),
           "proj_out.weight": ("decoder/projection/weight", ALL)}
    for side, layers in (("encoder", encoder_layers), ("decoder", decoder_layers)):
        out[f"model.{side}.embed_positions.weight"] = (f"{side}/position_encodings/encodings", ALL)
        out |= norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
        for i in range(layers):
            out |= layer_sources(side, i, d)
    return out


# Scalars of the spec: the value Hugging Face's Whisper implies, or None where any value converts (head
# counts become the config; alignment_* serve CTranslate2's own word timestamps; *_alibi matter only with alibi).
SCALARS: dict[str, int | None] = {"encoder/num_heads": None, "decoder/num_heads": None,
                                  "decoder/alignment_heads": None, "decoder/alignment_layer": None,
                                  "decoder/alibi_use_positive_positions": None, "decoder/scale_alibi": None,
                                  "decoder/activation": GELU, "decoder/pre_norm": 1, "decoder/alibi": 0,
                                  "decoder/start_from_zero_embedding": 0}


def check_scalars(variables: dict[str, np.ndarray], label: str) -> None:
    """Refuse a scalar setting that Hugging Face's Whisper does not share (another activation, scaled embeddings...)."""
    for name, expected in SCALARS.items():
        if expected is not None and name in variables and int(variables[name]) != expected:
            raise WhisperImportError(f"{label}: {name} is {int(variables[name])} where Hugging Face's Whisper has "
                                     f"{expected}: it cannot be converted exactly")
    scale = variables.get("decoder/scale_embeddings", np.int8(0))  # False (int8), or a float factor
    if float(scale) != (1.0 if scale.dtype == np.float32 else 0.0):
        raise WhisperImportError(f"{label}: decoder/scale_embeddings is {scale}: the embeddings are scaled, which "
                                 "Hugging Face's Whisper does not do")


def layer_count(variables: dict[str, np.ndarray], side: str) -> int:
    """How many ``side/layer_N`` the model has."""
    found = {int(m.group(1)) for name in variables if (m := re.match(rf"{side}/layer_(\d+)/", name))}
    if found != set(range(len(found))):
        raise WhisperImportError(f"{side} layers {sorted(found)} are not numbered 0..{len(found) - 1}")
    return len(found)


def state_dict(model: ModelBin, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Hugging Face parameters (float32 tensors) and the sizes the config needs, from the CTranslate2 variables."""
    import torch

    v = model.variables
    check_scalars(v, label)
    layers = {side: layer_count(v, side) for side in ("encoder", "decoder")}
    if "decoder/embeddings/weight" not in v or not all(layers.values()):
        raise WhisperImportError(f"{label} lacks a Whisper's embeddings or layers")
    d = v["decoder/embeddings/weight"].shape[1]  # (V, D)
    table = sources(layers["encoder"], layers["decoder"], d)
    needed = {name for name, _ in table.values()} | {"encoder/num_heads", "decoder/num_heads"}
    if needed - v.keys():
        missing = sorted(needed - v.keys())
        raise WhisperImportError(f"{label} lacks {missing[0]} (and {len(missing) - 1} more) of a Whisper's variables")
    unknown = sorted(v.keys() - needed - SCALARS.keys() - {"decoder/scale_embeddings"})
    if unknown:
        raise WhisperImportError(f"{label} holds {unknown[0]} (and {len(unknown) - 1} more), which Hugging Face's "
                                 "Whisper has no place for: it cannot be converted exactly")
    stacks = {name: rows.stop for name, rows in table.values() if rows != ALL}  # the last projection's end
    uneven = sorted(name for name, end in stacks.items() if v[name].shape[0] != end)
    if uneven:
        raise WhisperImportError(f"{label}: {uneven[0]} has {v[uneven[0]].shape[0]} rows, not the {stacks[uneven[0]]} "
                                 f"its projections of width {d} need")
    params = {hf: torch.from_numpy(np.ascontiguousarray(v[name][rows])) for hf, (name, rows) in table.items()}
    sizes = {"vocab_size": v["decoder/embeddings/weight"].shape[0], "d_model": d,
             "num_mel_bins": v["encoder/conv1/weight"].shape[1],  # conv1 (D, F, 3)
             "encoder_layers": layers["encoder"], "decoder_layers": layers["decoder"],
             "encoder_attention_heads": int(v["encoder/num_heads"]), "decoder_attention_heads": int(v["decoder/num_heads"]),
             "encoder_ffn_dim": v["encoder/layer_0/ffn/linear_0/weight"].shape[0],  # (FFN, D)
             "decoder_ffn_dim": v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
             "max_source_positions": v["encoder/position_encodings/encodings"].shape[0],  # (1500, D)
             "max_target_positions": v["decoder/position_encodings/encodings"].shape[0],  # (448, D)
             "tie_word_embeddings": bool(np.array_equal(v["decoder/projection/weight"], v["decoder/embeddings/weight"]))}
    return params, sizes


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
    p = argparse.ArgumentParser(prog="crossprobe-import-whisper", description=__doc__.split("\n\n")[0])
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
