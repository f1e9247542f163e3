"""Map a CTranslate2 Whisper's variables to ``WhisperForConditionalGeneration``'s parameters, exactly or not at all.

``sources`` names, for every Hugging Face parameter, the CTranslate2 variable (and rows of it,
where CTranslate2 stacks the query, key and value projections in one linear) it comes from;
``state_dict`` builds the parameters and the sizes a ``WhisperConfig`` needs from a
``whisper_model_bin.ModelBin``, refusing (``WhisperImportError``) scalar settings Hugging
Face's Whisper does not share, missing or unknown variables and uneven stacks.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from probes.adapters.whisper_model_bin import ModelBin, WhisperImportError

GELU = 3  # CTranslate2's Activation.GELU
ALL = slice(None)
Source = tuple[str, slice]  # a CTranslate2 variable and the rows a Hugging Face parameter takes from it


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
