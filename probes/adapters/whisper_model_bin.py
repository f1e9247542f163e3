"""Read a CTranslate2 (faster-whisper) Whisper's ``model.bin`` with numpy; CTranslate2 itself is not needed.

The file holds a header (binary version, spec name, spec revision, variable count), then each
variable (name, shape, type, bytes), then aliases (a variable equal to another stored once,
e.g. the output projection tied to the embeddings). ``model.bin`` may be split into
``model.bin.part1``, ``model.bin.part2``, ... across folders (joined in part order). Only what
converts exactly is read: float32, float16 and bfloat16 weights (exact in float32); int8 or
int16 weights, another spec or revision, an incomplete file or a missing part are refused
with one sentence (``WhisperImportError``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

BINARY_VERSION = 6  # CTranslate2's model.bin layout (specs/model_spec.py CURRENT_BINARY_VERSION)
SPEC = "WhisperSpec"
REVISION = 3  # specs/whisper_spec.py: the weights layout read here
DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # type ids of model.bin, in this order
FLOATS = ("float32", "float16", "bfloat16")  # exact in float32


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
