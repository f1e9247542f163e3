"""SentencePiece unigram tokenizer with language and task tags, trained in memory.

Vocabulary layout (fixed ids first, then the tags, then the learned pieces)::

    0 <pad>   1 <s> (bos)   2 </s> (eos)   3 <unk>
    4 ...     one tag per language, in the given order: <en> <it> <es> <fr> <de>
    ...       one tag per task, in the given order: <asr> <st>
    next      <tags:languages=en,it,...;tasks=asr,st>, a header that makes the model self-describing
    rest      learned pieces

All tags are SentencePiece control symbols: text never encodes to them and ``decode`` drops
them, like pad/bos/eos. A decoder target is ``prefix(tgt_lang, task) + encode(text) + [eos]``
with ``prefix = [bos, <tgt_lang>, <task>]``.

Normalisation is the ``identity`` rule with whitespace kept as is, so ``decode(encode(t)) == t``
exactly for any text made of characters seen in training (accents in either Unicode form,
straight or curly apostrophes, repeated spaces). Unseen characters become ``<unk>``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Iterable, Sequence

import sentencepiece as spm

from s2t.data.manifest import LANGUAGES, TASKS, read_manifest
from s2t.usage import prog

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
HEADER_PREFIX = "<tags:"


class TokenizerError(ValueError):
    """A tokenizer model is malformed, or a language or task tag it lacks was asked for."""


def _tag(name: str) -> str:
    """Piece of a language or task tag: ``en`` -> ``<en>``."""
    return f"<{name}>"


def _header(languages: Sequence[str], tasks: Sequence[str]) -> str:
    """Control piece recording which tags are languages and which are tasks."""
    return f"{HEADER_PREFIX}languages={','.join(languages)};tasks={','.join(tasks)}>"


def _parse_header(piece: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Inverse of ``_header``: (languages, tasks)."""
    fields = dict(part.split("=", 1) for part in piece[len(HEADER_PREFIX) : -1].split(";"))
    return tuple(filter(None, fields["languages"].split(","))), tuple(filter(None, fields["tasks"].split(",")))


def _check_names(kind: str, names: Sequence[str]) -> None:
    """Refuse empty, duplicate or delimiter-holding tag names."""
    if not names:
        raise TokenizerError(f"at least one {kind} is required")
    if len(set(names)) != len(names):
        raise TokenizerError(f"duplicate {kind} in {list(names)}")
    bad = [n for n in names if not n or any(c in n for c in "<>,;= \t\n")]
    if bad:
        raise TokenizerError(f"invalid {kind} name(s) {bad}")


class Tokenizer:
    """A SentencePiece unigram model plus language and task tags; see the module docstring."""

    def __init__(self, model: bytes) -> None:
        """Wrap a serialized SentencePiece model that was made by ``Tokenizer.train``."""
        self._model = bytes(model)
        self._sp = spm.SentencePieceProcessor(model_proto=self._model)
        headers = [i for i in range(self._sp.get_piece_size()) if self._sp.id_to_piece(i).startswith(HEADER_PREFIX)]
        if len(headers) != 1 or (self.pad_id, self.bos_id, self.eos_id, self._sp.unk_id()) != (PAD_ID, BOS_ID, EOS_ID, UNK_ID):
            raise TokenizerError("not a Crossprobe tokenizer model (special ids or tag header missing)")
        self._languages, self._tasks = _parse_header(self._sp.id_to_piece(headers[0]))
        self._lang_ids = {lang: self._tag_id(lang) for lang in self._languages}
        self._task_ids = {task: self._tag_id(task) for task in self._tasks}

    def _tag_id(self, name: str) -> int:
        """Id of the control piece ``<name>``; the header guarantees it exists."""
        i = self._sp.piece_to_id(_tag(name))
        if not self._sp.is_control(i):
            raise TokenizerError(f"tag {_tag(name)} named in the header is missing from the vocabulary")
        return i

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, languages: Sequence[str], tasks: Sequence[str]) -> Tokenizer:
        """Train a unigram model in memory; ``vocab_size`` is a soft limit (tiny corpora give fewer)."""
        _check_names("language", languages)
        _check_names("task", tasks)
        overlap = set(languages) & set(tasks)
        if overlap:
            raise TokenizerError(f"names used both as language and task: {sorted(overlap)}")
        sentences = [t for t in texts if t.strip()]
        if not sentences:
            raise TokenizerError("no non-empty text to train the tokenizer on")
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(sentences),
                model_writer=buffer,
                model_type="unigram",
                vocab_size=vocab_size,
                hard_vocab_limit=False,
                character_coverage=1.0,
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                pad_id=PAD_ID,
                bos_id=BOS_ID,
                eos_id=EOS_ID,
                unk_id=UNK_ID,
                control_symbols=[_tag(n) for n in [*languages, *tasks]] + [_header(languages, tasks)],
                num_threads=2,
                minloglevel=2,
            )
        except RuntimeError as err:  # e.g. vocab_size below the number of distinct characters
            raise TokenizerError(f"SentencePiece training failed: {err}") from None
        return cls(buffer.getvalue())

    @classmethod
    def from_bytes(cls, model: bytes) -> Tokenizer:
        """Rebuild a tokenizer from ``to_bytes`` output (e.g. embedded in a checkpoint)."""
        return cls(model)

    def to_bytes(self) -> bytes:
        """The serialized SentencePiece model, tags included."""
        return self._model

    def save(self, path: Path | str) -> None:
        """Write the serialized model to ``path`` (a regular SentencePiece ``.model`` file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self._model)

    @classmethod
    def load(cls, path: Path | str) -> Tokenizer:
        """Read a model written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"{path}: tokenizer model not found")
        return cls(path.read_bytes())

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no bos, eos or tags)."""
        return self._sp.encode(text, out_type=int)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; pad, bos, eos and tags are dropped."""
        return self._sp.decode([int(i) for i in ids])

    def lang_id(self, lang: str) -> int:
        """Id of the language tag ``<lang>``."""
        if lang not in self._lang_ids:
            raise TokenizerError(f"no language tag <{lang}> in this tokenizer (languages: {', '.join(self._languages)})")
        return self._lang_ids[lang]

    def task_id(self, task: str) -> int:
        """Id of the task tag ``<task>``."""
        if task not in self._task_ids:
            raise TokenizerError(f"no task tag <{task}> in this tokenizer (tasks: {', '.join(self._tasks)})")
        return self._task_ids[task]

    def prefix(self, tgt_lang: str, task: str) -> list[int]:
        """Decoder prompt ``[bos, <tgt_lang>, <task>]``."""
        return [self.bos_id, self.lang_id(tgt_lang), self.task_id(task)]

    def piece(self, i: int) -> str:
        """Surface piece of id ``i`` (for inspection and attention plots)."""
        return self._sp.id_to_piece(int(i))

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials and tags included."""
        return self._sp.get_piece_size()

    @property
    def pad_id(self) -> int:
        """Padding id (0)."""
        return self._sp.pad_id()

    @property
    def bos_id(self) -> int:
        """Beginning-of-sequence id (1)."""
        return self._sp.bos_id()

    @property
    def eos_id(self) -> int:
        """End-of-sequence id (2)."""
        return self._sp.eos_id()

    @property
    def unk_id(self) -> int:
        """Unknown-piece id (3)."""
        return self._sp.unk_id()

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a tag, in id order."""
        return self._languages

    @property
    def tasks(self) -> tuple[str, ...]:
        """Tasks with a tag, in id order."""
        return self._tasks


def _ordered(found: Iterable[str], canonical: Sequence[str]) -> list[str]:
    """Names in ``canonical`` order first, unknown ones after, alphabetically."""
    rank = {name: i for i, name in enumerate(canonical)}
    return sorted(set(found), key=lambda n: (rank.get(n, len(rank)), n))


def train_from_manifests(
    manifests: Sequence[Path | str],
    vocab_size: int,
    languages: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
) -> Tokenizer:
    """Train on the manifests' src_text and tgt_text; tags default to those the manifests use."""
    rows = [row for path in manifests for row in read_manifest(path)]
    if languages is None:
        languages = _ordered([lang for r in rows for lang in (r.src_lang, r.tgt_lang) if lang], LANGUAGES)
    if tasks is None:
        tasks = _ordered([r.task for r in rows if r.task], TASKS)
    texts = [text for r in rows for text in (r.src_text, r.tgt_text)]
    return Tokenizer.train(texts, vocab_size, languages, tasks)


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: train a tokenizer on manifests and write it to ``--out``."""
    parser = argparse.ArgumentParser(prog=prog("s2t.tokenizer"), description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", action="append", required=True, help="manifest TSV (repeatable)")
    parser.add_argument("--vocab-size", type=int, default=1000, help="soft vocabulary size limit")
    parser.add_argument("--out", required=True, help="output .model path")
    args = parser.parse_args(argv)
    tokenizer = train_from_manifests(args.manifest, args.vocab_size)
    tokenizer.save(args.out)
    print(
        f"{args.out}: {tokenizer.vocab_size} pieces, languages {', '.join(tokenizer.languages)}, "
        f"tasks {', '.join(tokenizer.tasks)}"
    )


if __name__ == "__main__":
    main()
