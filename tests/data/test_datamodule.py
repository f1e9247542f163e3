"""SpeechDataset, collate and SpeechDataModule, bad rows included (BucketBatchSampler alone: test_sampler.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch

from s2t.data.audio import BadRowError, load_audio
from s2t.data.datamodule import SpeechDataModule
from s2t.data.dataset import SpeechDataset, collate
from s2t.data.manifest import SAMPLE_RATE, ManifestError, ManifestRow, num_frames, read_manifest, resolve_audio, write_manifest
from s2t.features import N_MELS, fbank
from s2t.tokenizer import Tokenizer

# (utterance, src_lang, src_text, {tgt_lang: translation})
UTTERANCES = [
    ("dog", "it", "il cane grande vede l'uomo a Londra", {"en": "the big dog sees the man in London"}),
    ("cat", "de", "der Hund hat die Katze gesehen", {"en": "the dog has seen the cat"}),
    ("city", "fr", "l'homme marche à Paris", {"en": "the man walks in Paris"}),
    ("boy", "es", "el niño ve al perro", {"en": "the boy sees the dog"}),
    ("man", "en", "the man sees the dog", {"it": "l'uomo vede il cane", "de": "der Mann sieht den Hund"}),
    ("girl", "it", "la ragazza è già qui", {"en": "the girl is already here"}),
]

def tone(seconds: float, rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """A quiet sine with a little noise, float32 of shape (samples,)."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0.0, 0.01, t.shape)
    return (0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + noise).astype(np.float32)


def write_wav(path: Path, wav: np.ndarray, rate: int = SAMPLE_RATE, subtype: str = "PCM_16") -> Path:
    """Write a mono wav file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, rate, subtype=subtype)
    return path


def corpus_rows(folder: Path, split: str, seconds: float) -> list[ManifestRow]:
    """One ASR row and one ST row per utterance per target language, audio written under ``folder/wav``."""
    rows = []
    for k, (name, src_lang, src_text, translations) in enumerate(UTTERANCES):
        wav = tone(seconds + 0.1 * k, seed=k)
        audio = f"wav/{split}_{name}.wav"
        write_wav(folder / audio, wav)
        base = dict(audio=audio, n_frames=num_frames(len(wav)), src_text=src_text, src_lang=src_lang, speaker=f"spk{k % 2}")
        rows.append(ManifestRow(id=f"{split}_{name}_asr", tgt_text=src_text, tgt_lang=src_lang, task="asr", **base))
        for tgt_lang, text in translations.items():
            rows.append(ManifestRow(id=f"{split}_{name}_{tgt_lang}", tgt_text=text, tgt_lang=tgt_lang, task="st", **base))
    return rows


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with train/valid/test manifests (13 rows each, 0.3-1 s tones); returns the folder."""
    for split, seconds in (("train", 0.5), ("valid", 0.3), ("test", 0.3)):
        write_manifest(tmp_path / f"{split}.tsv", corpus_rows(tmp_path, split, seconds))
    return tmp_path


def make_row(id: str, audio: str, n_frames: int = 48, **fields: str) -> ManifestRow:
    """An Italian ASR row; keyword arguments override any field."""
    text = "una riga in più"
    values = dict(src_text=text, tgt_text=text, src_lang="it", tgt_lang="it", task="asr", speaker="spk9")
    return ManifestRow(id=id, audio=audio, n_frames=n_frames, **{**values, **fields})


def datamodule(corpus: Path, **overrides) -> SpeechDataModule:
    """A datamodule on the tiny corpus, tokenizer trained, fit stage set up."""
    args = dict(max_frames=400, num_workers=0, vocab_size=200)
    dm = SpeechDataModule(corpus, **{**args, **overrides})
    dm.prepare_data()
    dm.setup("fit")
    return dm


def add_row(corpus: Path, row: ManifestRow, split: str = "train") -> None:
    """Append a row to a split's manifest."""
    manifest = corpus / f"{split}.tsv"
    write_manifest(manifest, read_manifest(manifest) + [row])


def epoch_batches(loader: torch.utils.data.DataLoader) -> list[dict]:
    """All batches of one pass over a loader."""
    return list(loader)


def ids_of(batches: list[dict]) -> list[str]:
    """Row ids in a list of batches."""
    return [i for batch in batches for i in batch["ids"]]


def missing_file(corpus: Path) -> ManifestRow:
    """Audio path that does not exist."""
    return make_row("bad_missing", "wav/nowhere.wav")


def corrupt_wav(corpus: Path) -> ManifestRow:
    """A .wav file of garbage bytes."""
    (corpus / "wav/corrupt.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    return make_row("bad_corrupt", "wav/corrupt.wav")


def empty_wav(corpus: Path) -> ManifestRow:
    """A valid wav header with zero samples."""
    write_wav(corpus / "wav/empty.wav", np.zeros(0, dtype=np.float32))
    return make_row("bad_empty", "wav/empty.wav")


def empty_transcript(corpus: Path) -> ManifestRow:
    """Good audio, empty target text."""
    return make_row("bad_text", "wav/train_dog.wav", tgt_text="")


def unknown_language(corpus: Path) -> ManifestRow:
    """A language outside LANGUAGES."""
    return make_row("bad_lang", "wav/train_dog.wav", src_lang="xx", tgt_lang="xx")


def unknown_task(corpus: Path) -> ManifestRow:
    """A task outside TASKS."""
    return make_row("bad_task", "wav/train_dog.wav", task="mt")


SETUP_CASES: dict[str, Callable[[Path], ManifestRow]] = {
    f.__name__: f for f in (missing_file, corrupt_wav, empty_wav, empty_transcript, unknown_language, unknown_task)
}


def nan_wav(corpus: Path) -> ManifestRow:
    """A float wav whose samples include NaN: the header is fine, decoding is not."""
    wav = tone(0.5)
    wav[100:200] = np.nan
    write_wav(corpus / "wav/nan.wav", wav, subtype="FLOAT")
    return make_row("bad_nan", "wav/nan.wav", n_frames=num_frames(len(wav)))


def wrong_rate_wav(corpus: Path) -> ManifestRow:
    """One second at 8 kHz: n_frames is that of the resampled 16 kHz signal."""
    write_wav(corpus / "wav/8k.wav", tone(1.0, rate=8000), rate=8000)
    return make_row("odd_rate", "wav/8k.wav", n_frames=num_frames(16000))


@pytest.mark.parametrize("case", SETUP_CASES)
def test_bad_row_is_skipped_counted_and_logged(corpus: Path, case: str, caplog) -> None:
    row = SETUP_CASES[case](corpus)
    add_row(corpus, row)
    good = [r.id for r in read_manifest(corpus / "train.tsv") if r.id != row.id]
    with caplog.at_level(logging.WARNING, logger="s2t.data.datamodule"):
        dm = datamodule(corpus, on_bad_row="skip")
    assert dm.skipped == {"train": 1, "valid": 0}
    assert row.id in caplog.text and str(resolve_audio(corpus / "train.tsv", row)) in caplog.text
    assert "skipped 1 of 14 rows" in caplog.text
    assert sorted(ids_of(epoch_batches(dm.train_dataloader()))) == sorted(good)


@pytest.mark.parametrize("case", SETUP_CASES)
def test_bad_row_aborts_naming_row_and_file(corpus: Path, case: str) -> None:
    row = SETUP_CASES[case](corpus)
    add_row(corpus, row)
    with pytest.raises(BadRowError) as err:
        datamodule(corpus, on_bad_row="abort")
    message = str(err.value)
    assert row.id in message and str(resolve_audio(corpus / "train.tsv", row)) in message
    assert str(corpus / "train.tsv") in message


def test_nan_audio_is_skipped_when_loaded(corpus: Path, caplog) -> None:
    add_row(corpus, nan_wav(corpus))
    dm = datamodule(corpus, on_bad_row="skip")
    assert dm.skipped["train"] == 0  # the header looks fine; decoding finds the NaN
    with caplog.at_level(logging.WARNING, logger="s2t.data.dataset"):
        batches = epoch_batches(dm.train_dataloader())
    assert sum(b["n_skipped"] for b in batches) == 1
    assert "bad_nan" not in ids_of(batches) and len(ids_of(batches)) == 13
    assert "bad_nan" in caplog.text and "nan.wav" in caplog.text


def test_nan_audio_aborts_when_loaded(corpus: Path) -> None:
    add_row(corpus, nan_wav(corpus))
    dm = datamodule(corpus, on_bad_row="abort")
    with pytest.raises(BadRowError, match=r"bad_nan.*nan\.wav.*NaN"):
        epoch_batches(dm.train_dataloader())


@pytest.mark.parametrize("mode", ["skip", "abort"])
def test_wrong_sample_rate_is_resampled_with_a_warning(corpus: Path, mode: str) -> None:
    add_row(corpus, wrong_rate_wav(corpus))
    dm = datamodule(corpus, on_bad_row=mode)
    assert dm.skipped["train"] == 0
    with pytest.warns(UserWarning, match="8000 Hz, resampled"):
        batches = epoch_batches(dm.train_dataloader())
    lengths = {i: int(n) for b in batches for i, n in zip(b["ids"], b["feature_lengths"])}
    assert lengths["odd_rate"] == num_frames(16000)
    assert sum(b["n_skipped"] for b in batches) == 0


def test_manifest_without_usable_rows_is_a_clear_error(corpus: Path) -> None:
    write_manifest(corpus / "valid.tsv", [missing_file(corpus)])
    with pytest.raises(ManifestError, match=r"valid\.tsv: no usable rows \(1 read, 1 bad\)"):
        datamodule(corpus)


def test_setup_without_tokenizer_says_what_to_do(corpus: Path) -> None:
    with pytest.raises(FileNotFoundError, match="prepare_data"):
        SpeechDataModule(corpus).setup("fit")


def test_prepare_data_trains_once_and_tokenizer_covers_corpus(corpus: Path) -> None:
    dm = datamodule(corpus)
    model = dm.tokenizer_path.read_bytes()
    dm.prepare_data()
    assert dm.tokenizer_path.read_bytes() == model
    assert dm.tokenizer.to_bytes() == model
    for row in read_manifest(corpus / "train.tsv"):
        assert dm.tokenizer.decode(dm.tokenizer.encode(row.tgt_text)) == row.tgt_text


def test_dataset_item_layout(corpus: Path) -> None:
    dm = datamodule(corpus)
    rows = dm.rows["train"]
    tok: Tokenizer = dm.tokenizer
    item = SpeechDataset(corpus / "train.tsv", rows, tok)[1]
    row = rows[1]
    assert item["id"] == row.id and item["features"].shape == (row.n_frames, N_MELS)
    expected = [tok.bos_id, tok.lang_id(row.tgt_lang), tok.task_id(row.task), *tok.encode(row.tgt_text), tok.eos_id]
    assert item["tokens"].tolist() == expected and item["tokens"].dtype == torch.long
    assert (item["src_lang"], item["tgt_lang"], item["task"]) == (row.src_lang, row.tgt_lang, row.task)
    assert (item["src_text"], item["tgt_text"]) == (row.src_text, row.tgt_text)


def test_collate_pads_batch_first_and_drops_none() -> None:
    def item(i: int, frames: int, tokens: list[int], src: list[int]) -> dict:
        meta = dict(src_lang="it", tgt_lang="en", task="st", src_text="s", tgt_text="t")
        return dict(id=f"u{i}", features=torch.ones(frames, N_MELS), tokens=torch.tensor(tokens),
                    src_tokens=torch.tensor(src), **meta)

    batch = collate([item(0, 5, [1, 4, 9, 2], [7]), None, item(1, 3, [1, 5, 2], [8, 9])], pad_id=0)
    assert batch["n_skipped"] == 1 and batch["ids"] == ["u0", "u1"] and batch["tgt_lang"] == ["en", "en"]
    assert batch["features"].shape == (2, 5, N_MELS) and batch["feature_lengths"].tolist() == [5, 3]
    assert batch["features"][1, 3:].abs().sum() == 0 and batch["features"][1, :3].eq(1).all()
    assert batch["tokens"].tolist() == [[1, 4, 9, 2], [1, 5, 2, 0]] and batch["token_lengths"].tolist() == [4, 3]
    assert batch["src_tokens"].tolist() == [[7, 0], [8, 9]] and batch["src_token_lengths"].tolist() == [1, 2]
    empty = collate([None, None])
    assert empty["n_skipped"] == 2 and empty["features"].shape == (0, 0, N_MELS) and empty["tokens"].shape == (0, 0)


def test_val_loader_has_no_spec_augment(corpus: Path) -> None:
    dm = datamodule(corpus)
    batch = next(iter(dm.val_dataloader()))
    row = next(r for r in dm.rows["valid"] if r.id == batch["ids"][0])
    expected = fbank(torch.from_numpy(load_audio(resolve_audio(corpus / "valid.tsv", row))))
    assert torch.equal(batch["features"][0, : expected.shape[0]], expected)


def test_train_loader_with_two_workers_shapes_masks_and_reproducibility(corpus: Path) -> None:
    dm = datamodule(corpus, num_workers=2, max_frames=300, seed=7)
    tok = dm.tokenizer
    first = epoch_batches(dm.train_dataloader())
    again = epoch_batches(dm.train_dataloader())
    assert len(first) == len(dm.train_dataloader().batch_sampler) and sorted(ids_of(first)) == sorted(r.id for r in dm.rows["train"])
    freq_masked = time_masked = 0
    for batch, repeat in zip(first, again):
        feats, lengths, tokens, token_lengths = batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"]
        B, T, D = feats.shape  # (B, T_max, 80)
        assert D == N_MELS and T == int(lengths.max()) and B * T <= 300 and tokens.shape == (B, int(token_lengths.max()))
        assert torch.equal(feats, repeat["features"])  # SpecAugment masks are seeded
        for b in range(B):
            valid, n = feats[b, : lengths[b]], int(token_lengths[b])  # (T_b, 80)
            assert feats[b, lengths[b] :].abs().sum() == 0 and tokens[b, n:].eq(tok.pad_id).all()
            assert tokens[b, 0] == tok.bos_id and tokens[b, n - 1] == tok.eos_id
            freq_masked += int(valid.eq(0).all(dim=0).any())
            time_masked += int(valid.eq(0).all(dim=1).any())
    assert freq_masked > 0 and time_masked > 0


class BatchRecorder(L.LightningModule):
    """A one-weight model that records the row ids of every training batch per epoch."""

    def __init__(self) -> None:
        """One linear weight so the optimiser has something to step."""
        super().__init__()
        self.weight = torch.nn.Linear(N_MELS, 1)
        self.seen: dict[int, list[list[str]]] = {}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        """Record the ids and return a dummy loss."""
        self.seen.setdefault(self.current_epoch, []).append(batch["ids"])
        return self.weight(batch["features"]).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Plain SGD."""
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_reshuffles_batches_every_epoch(corpus: Path) -> None:
    dm = datamodule(corpus, max_frames=200)
    model = BatchRecorder()
    trainer = L.Trainer(
        max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0, use_distributed_sampler=False,
    )
    trainer.fit(model, datamodule=dm)
    epochs = [model.seen[e] for e in range(3)]
    every_row = sorted(r.id for r in dm.rows["train"])
    assert all(sorted(i for batch in epoch for i in batch) == every_row for epoch in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
