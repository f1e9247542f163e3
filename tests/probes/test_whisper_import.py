"""crossprobe-import-whisper on tiny random Whispers written by CTranslate2's own converter; nothing is downloaded.

The originals have Whisper's real vocabulary layout (51,865 tokens multilingual, 51,864
English-only: a byte-level BPE of made-up merges, the special tokens at OpenAI's ids, and the
timestamp tokens CTranslate2 appends), so every id the generation config names is where
OpenAI's checkpoints have it; the model itself is tiny (d 64, 2 + 2 layers).
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import pre_tokenizers
from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration, WhisperTokenizer
from transformers.models.whisper.tokenization_whisper import LANGUAGES

from probes.adapters.whisper import WhisperProbe
from probes.adapters.whisper_import import import_whisper, main

ctranslate2 = pytest.importorskip("ctranslate2")

CONTROL = ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>")
ALIGNMENT_HEADS = [[1, 0], [1, 3]]


def whisper_tokenizer(multilingual: bool) -> WhisperTokenizer:
    """OpenAI's layout: BPE ids 0..50256 (..50255 English-only), <|endoftext|>, <|startoftranscript|>, 99 languages,
    the control tokens; merges made up (every pair of byte symbols in turn)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    merges = []
    size = 50257 if multilingual else 50256
    pairs = ((a, b) for a in alphabet for b in alphabet if a + b not in vocab)
    while len(vocab) < size:
        a, b = next(pairs)
        merges.append((a, b))
        vocab[a + b] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    languages = [f"<|{code}|>" for code in list(LANGUAGES)[:99]]
    tokenizer.add_tokens(["<|endoftext|>", "<|startoftranscript|>", *languages, *CONTROL], special_tokens=True)
    return tokenizer


def original_whisper(folder: Path, multilingual: bool) -> WhisperForConditionalGeneration:
    """A seeded random Whisper (weights std 0.5, layer norms 1 and 0) saved with its tokenizer and an OpenAI-style
    generation config; returns the model."""
    tokenizer = whisper_tokenizer(multilingual)
    eot, sot = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|startoftranscript|>"])
    vocab_size = 51865 if multilingual else 51864  # the 1501 timestamp tokens come after the tokenizer's
    config = WhisperConfig(vocab_size=vocab_size, num_mel_bins=80, d_model=64, encoder_layers=2, decoder_layers=2,
                           encoder_attention_heads=2, decoder_attention_heads=4, encoder_ffn_dim=128,
                           decoder_ffn_dim=96, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
                           decoder_start_token_id=sot, init_std=0.5)
    torch.manual_seed(int(multilingual))
    model = WhisperForConditionalGeneration(config).eval()
    extra = {}
    if multilingual:
        extra["lang_to_id"] = {f"<|{code}|>": tokenizer.convert_tokens_to_ids(f"<|{code}|>") for code in list(LANGUAGES)[:99]}
    model.generation_config = GenerationConfig(alignment_heads=ALIGNMENT_HEADS, suppress_tokens=[1, 2, 7, 50000],
                                               begin_suppress_tokens=[220, eot], decoder_start_token_id=sot,
                                               eos_token_id=eot, **extra)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


def ct2(original: Path, out: Path, quantization: str | None) -> Path:
    """CTranslate2's own conversion of a Hugging Face folder, tokenizer.json copied as faster-whisper's are."""
    converter = ctranslate2.converters.TransformersConverter(str(original), copy_files=["tokenizer.json"])
    return Path(converter.convert(str(out), quantization=quantization, force=True))


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> tuple[WhisperForConditionalGeneration, Path]:
    """The multilingual original and its Hugging Face folder."""
    folder = tmp_path_factory.mktemp("original")
    return original_whisper(folder, multilingual=True), folder


@pytest.fixture(scope="module")
def converted(multilingual: tuple[WhisperForConditionalGeneration, Path],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CTranslate2 folders of the multilingual original: float32, float16, bfloat16 and int8 weights."""
    root = tmp_path_factory.mktemp("ct2")
    return {q: ct2(multilingual[1], root / q, None if q == "float32" else q)
            for q in ("float32", "float16", "bfloat16", "int8")}


@pytest.fixture(scope="module")
def imported(converted: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The float conversions imported back with the command."""
    root = tmp_path_factory.mktemp("imported")
    for q in ("float32", "float16", "bfloat16"):
        assert main([str(converted[q]), "--out", str(root / q)]) == 0
    return {q: root / q for q in ("float32", "float16", "bfloat16")}


def logits(model: WhisperForConditionalGeneration) -> torch.Tensor:
    """Logits (1, 6, V) of a fixed log-mel input (1, 80, 3000) and a prompt with two text tokens."""
    features = torch.randn(1, 80, 3000, generator=torch.Generator().manual_seed(3))
    tokens = torch.tensor([[50258, 50259, 50359, 50363, 400, 30000]])
    with torch.no_grad():
        return model(input_features=features, decoder_input_ids=tokens).logits


def rounded(model: WhisperForConditionalGeneration, dtype: torch.dtype) -> WhisperForConditionalGeneration:
    """A copy of the model with every weight rounded to dtype and back."""
    copy = WhisperForConditionalGeneration(model.config).eval()
    copy.load_state_dict({k: v.to(dtype).float() for k, v in model.state_dict().items()})
    return copy


def test_float32_import_is_the_same_model(multilingual: tuple[WhisperForConditionalGeneration, Path],
                                          imported: dict[str, Path]) -> None:
    """Every weight and the logits are exactly the original's; config, tokenizer and generation settings match."""
    original, folder = multilingual
    probe = WhisperProbe.from_pretrained(imported["float32"])
    ours = probe.model
    theirs = original.state_dict()
    assert ours.state_dict().keys() == theirs.keys()
    assert all(torch.equal(v, theirs[k]) for k, v in ours.state_dict().items())
    assert torch.equal(logits(ours), logits(original))
    for key in ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "num_mel_bins",
                "max_source_positions", "max_target_positions", "decoder_start_token_id", "eos_token_id"):
        assert getattr(ours.config, key) == getattr(original.config, key), key
    generation = ours.generation_config
    assert generation.alignment_heads == ALIGNMENT_HEADS and generation.is_multilingual
    assert generation.lang_to_id == original.generation_config.lang_to_id and len(generation.lang_to_id) == 99
    assert generation.task_to_id == {"transcribe": 50359, "translate": 50358}
    assert (generation.decoder_start_token_id, generation.eos_token_id, generation.no_timestamps_token_id,
            generation.prev_sot_token_id) == (50258, 50257, 50363, 50361)
    assert generation.suppress_tokens == [1, 2, 7, 50000] and generation.begin_suppress_tokens == [220, 50257]
    tokenizer = WhisperTokenizer.from_pretrained(folder)
    assert len(probe.tokenizer) == 51865 and probe.tokenizer.convert_ids_to_tokens([50364, 51864]) == ["<|0.00|>", "<|30.00|>"]
    text = "Hello, world! Ça va?"
    assert probe.tokenizer(text).input_ids == tokenizer(text).input_ids
    assert probe.prefix("en", "asr") == [50258, 50259, 50359, 50363]
    assert probe.feature_extractor.feature_size == 80


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_import_is_the_model_rounded(dtype: str, multilingual: tuple[WhisperForConditionalGeneration, Path],
                                                    imported: dict[str, Path]) -> None:
    """float16 (bfloat16) weights come back as float32 exactly: the original's weights rounded to float16 (bfloat16),
    and its logits with them."""
    original = rounded(multilingual[0], getattr(torch, dtype))
    ours = WhisperForConditionalGeneration.from_pretrained(imported[dtype]).eval()
    assert ours.dtype == torch.float32
    assert all(torch.equal(v, original.state_dict()[k]) for k, v in ours.state_dict().items())
    assert torch.equal(logits(ours), logits(original))
    if dtype == "float16":  # near the unrounded original's (bfloat16's 8-bit mantissa moves this random net's a lot)
        exact = logits(multilingual[0])
        assert float((logits(ours) - exact).abs().mean()) < 0.05 * float(exact.abs().mean())


def test_english_only_model(tmp_path: Path) -> None:
    """A 51,864-token Whisper imports as English-only: no languages or tasks, prompt <|startoftranscript|><|notimestamps|>."""
    original = original_whisper(tmp_path / "original", multilingual=False)
    assert main([str(ct2(tmp_path / "original", tmp_path / "ct2", None)), "--out", str(tmp_path / "hf")]) == 0
    probe = WhisperProbe.from_pretrained(tmp_path / "hf")
    generation = probe.model.generation_config
    assert not generation.is_multilingual and not hasattr(generation, "lang_to_id")
    assert (generation.decoder_start_token_id, generation.eos_token_id, generation.no_timestamps_token_id) == (50257, 50256, 50362)
    assert probe.prefix("en", "asr") == [50257, 50362]
    assert torch.equal(logits(probe.model), logits(original))


def test_int8_is_refused(converted: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Quantised weights cannot come back exactly: one sentence, exit 2, nothing written."""
    assert main([str(converted["int8"]), "--out", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "holds int8 weights" in err
    assert "quantised weights cannot be converted exactly" in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def header_count(model_bin: Path) -> int:
    """The variable count in a model.bin's header: after the version, the spec name and the revision."""
    data = model_bin.read_bytes()
    name_length = struct.unpack_from("<H", data, 4)[0]
    return struct.unpack_from("<I", data, 4 + 2 + name_length + 4)[0]


def test_truncated_model_bin_names_the_counts(converted: dict[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    """A model.bin cut short says how many of its announced variables it holds."""
    source = tmp_path / "cut"
    shutil.copytree(converted["float32"], source)
    data = (source / "model.bin").read_bytes()
    (source / "model.bin").write_bytes(data[: len(data) // 2])
    assert main([str(source), "--out", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err
    total = header_count(converted["float32"] / "model.bin")
    held = int(err.split(" holds ")[1].split(" of the ")[0])
    assert 0 < held < total
    assert f"holds {held} of the {total} variables its header announces: the file is incomplete" in err
    assert not (tmp_path / "hf").exists()


def split(model_bin: Path, folders: list[Path]) -> None:
    """Write model.bin in len(folders) parts, part k into folders[k - 1]."""
    data = model_bin.read_bytes()
    step = len(data) // len(folders) + 1
    for k, folder in enumerate(folders, start=1):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"model.bin.part{k}").write_bytes(data[(k - 1) * step: k * step])


def test_split_parts_join_to_the_whole(converted: dict[str, Path], imported: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    """Parts in several folders, given in any order, import as the whole file does; a missing part is named."""
    first = tmp_path / "part1"
    shutil.copytree(converted["float16"], first, ignore=shutil.ignore_patterns("model.bin"))
    folders = [first, tmp_path / "part2", tmp_path / "part3"]
    split(converted["float16"] / "model.bin", folders)
    assert main([str(folders[2]), str(folders[0]), str(folders[1]), "--out", str(tmp_path / "hf")]) == 0
    assert load_file(tmp_path / "hf/model.safetensors").keys() == load_file(imported["float16"] / "model.safetensors").keys()
    whole, joined = load_file(imported["float16"] / "model.safetensors"), load_file(tmp_path / "hf/model.safetensors")
    assert all(torch.equal(whole[k], joined[k]) for k in whole)
    capsys.readouterr()
    assert main([str(folders[0]), str(folders[2]), "--out", str(tmp_path / "hf2")]) == 2
    assert "model.bin.part2 missing" in capsys.readouterr().err


@pytest.mark.parametrize("broken", ["tokenizer.json", "config.json", "revision"])
def test_what_is_missing_or_unknown_is_refused(broken: str, converted: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """No tokenizer, no config, or a spec revision whose layout the importer does not know: one sentence, exit 2."""
    source = tmp_path / "src"
    shutil.copytree(converted["float16"], source)
    if broken == "revision":
        data = bytearray((source / "model.bin").read_bytes())
        struct.pack_into("<I", data, 4 + 2 + len("WhisperSpec") + 1, 2)
        (source / "model.bin").write_bytes(bytes(data))
    else:
        (source / broken).unlink()
    assert main([str(source), "--out", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err
    expected = {"tokenizer.json": "no tokenizer.json", "config.json": "no config.json",
                "revision": "holds a WhisperSpec of revision 2; this importer reads only WhisperSpec revision 3"}
    assert expected[broken] in err and not (tmp_path / "hf").exists()


def test_destination_appears_only_when_complete(converted: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An existing DEST is kept without --force; an import that fails while writing leaves neither DEST nor a part."""
    dest = tmp_path / "out" / "hf"
    dest.mkdir(parents=True)
    with pytest.raises(ValueError, match="exists; pass --force"):
        import_whisper([converted["float16"]], dest)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("transformers.WhisperProcessor.save_pretrained", fail)
    with pytest.raises(OSError, match="disk full"):
        import_whisper([converted["float16"]], dest, force=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["hf"] and not list(dest.iterdir())  # the old DEST stays
    monkeypatch.undo()
    import_whisper([converted["float16"]], dest, force=True)
    assert (dest / "model.safetensors").is_file() and [p.name for p in (tmp_path / "out").iterdir()] == ["hf"]
