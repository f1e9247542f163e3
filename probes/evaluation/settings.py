"""The explanation settings as evaluate.py, a study file and settings.json hold them: a mapping of ``ExplainConfig``'s
fields, read through the parser its dataclasses generate, and compared as dataclasses, field by field.

One mapping everywhere: ``explain:`` in evaluate.py's ``--config`` file (``--print_config`` writes it) and in a study
file, ``config`` in a run's settings.json, the latter with every field. settings.json keeps the layout it has always
had, ``dataclasses.asdict`` of the config (``spes.masks``, ``encoder.keep_prob``: the fields ``OcclusionConfig``
shares sit flat in both), so every run made so far reads back as it was made, and the study's tables quote it as
before. A run made before an option existed lacks its key and reads back with the option's default, which is what it
was made with. On evaluate.py's command line the fields are ``--explain.spes.masks`` and so on, and its earlier flags
(``--masks``, ``--keep-prob``, ...: ``SHORTHANDS``) set them too.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, Mapping, Sequence

from jsonargparse import ArgumentParser

from probes.explain import ExplainConfig

EXPLAIN = "explain"  # evaluate.py's options group (--explain.spes.masks) and config section of these settings


def add_explain_arguments(parser: ArgumentParser) -> None:
    """Give ``parser`` an ``--explain.<field>`` option per field of ``ExplainConfig`` (``--explain.spes.masks``)."""
    parser.add_class_arguments(ExplainConfig, EXPLAIN)


class SetFields(argparse.Action):
    """A shorthand option: sets the ``--explain`` fields it names to its value, read by ``read`` (a switch: to its
    ``const``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, fields: Sequence[str] = (),
                 read: Callable[[str], Any] = str, **kwargs: Any) -> None:
        """``fields``: dotted names under ``explain`` (``spes.masks``); the option stores nothing of its own."""
        super().__init__(option_strings, argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)
        self.fields, self.read = tuple(fields), read

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None) -> None:
        """Set every field this option names, in the order the options come (a later one overrides)."""
        try:
            value = self.const if self.nargs == 0 else self.read(values)
        except ValueError as err:
            raise argparse.ArgumentError(self, f"invalid value {values!r} ({err})") from err
        for name in self.fields:
            namespace[f"{EXPLAIN}.{name}"] = value


def words(text: str) -> tuple[str, ...]:
    """A comma-separated list: ``spes,encoder`` -> ("spes", "encoder"); blanks dropped."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


def integers(text: str) -> tuple[int, ...]:
    """A comma-separated list of integers: ``2000,2500,3000``."""
    return tuple(int(w) for w in words(text))


def both(name: str) -> tuple[str, str]:
    """A field ``OcclusionConfig`` gives both occlusion maps, in SPES's config and the encoder's."""
    return f"spes.{name}", f"encoder.{name}"


# The flags evaluate.py had before its options came from ExplainConfig, each setting the fields it names (the seed
# and the occlusion options set both maps'): (fields, how the value is read).
SHORTHANDS: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "--methods": (("methods",), words), "--masks": (("spes.masks",), int),
    "--encoder-masks": (("encoder.masks",), int), "--granularities": (("spes.granularities",), integers),
    "--estimator": (both("estimator"), str), "--target-reliability": (both("target_reliability"), float),
    "--max-masks": (both("max_masks"), int), "--precision": (both("precision"), str),
    "--keep-prob": (both("keep_prob"), float), "--batch-size": (both("batch_size"), int),
    "--fill": (("spes.fill",), str), "--seed": (("seed", *both("seed")), int), "--pooling": (("pooling",), str),
    "--beam": (("beam_size",), int), "--deletion-steps": (("deletion_steps",), int),
    "--timestamp-heads": (("timestamp_heads",), str),
}
SWITCHES = {"--antithetic": (both("antithetic"), True), "--reliability": (("reliability",), True),
            "--no-deletion-decode": (("decode_deletion",), False)}  # flags without a value: (fields, value set)


def add_shorthands(parser: ArgumentParser) -> None:
    """Give ``parser`` the earlier flags (``SHORTHANDS``, ``SWITCHES``), each documented by the options it sets."""
    group = parser.add_argument_group("Shorthands", "evaluate.py's earlier flags, each setting the --explain options "
                                                    "it names; comma-separated lists where those take several values")
    for flag, (fields, read) in SHORTHANDS.items():
        group.add_argument(flag, action=SetFields, fields=fields, read=read, metavar=flag[2:].upper(),
                           help="= " + " and ".join(f"--{EXPLAIN}.{f}" for f in fields))
    for flag, (fields, value) in SWITCHES.items():
        group.add_argument(flag, action=SetFields, fields=fields, nargs=0, const=value,
                           help="= " + " and ".join(f"--{EXPLAIN}.{f} {str(value).lower()}" for f in fields))


def sets_explanation(option: str) -> bool:
    """Whether a command-line word sets explanation settings (``--explain...``, a shorthand, ``--config``)."""
    flag = option.split("=")[0]
    return flag in SHORTHANDS or flag in SWITCHES or flag == "--config" or flag.startswith(f"--{EXPLAIN}")


def read_config(mapping: Mapping[str, Any]) -> ExplainConfig:
    """The ``ExplainConfig`` a mapping of its fields describes, those it lacks at their defaults; ValueError naming
    the field that is unknown or has a bad value."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"explanation settings must be a mapping of their fields, e.g. {{spes: {{masks: 256}}}}; "
                         f"got {mapping!r}")
    parser = ArgumentParser(exit_on_error=False)
    add_explain_arguments(parser)
    try:
        return parser.instantiate(parser.parse_object({EXPLAIN: dict(mapping)}))[EXPLAIN]
    except argparse.ArgumentError as err:
        raise ValueError(str(err)) from err


def differing_fields(a: Any, b: Any, name: str = "") -> list[str]:
    """The dotted names of the fields in which ``a`` and ``b`` differ, nested dataclasses compared field by field."""
    if not (dataclasses.is_dataclass(a) and type(a) is type(b)):
        return [] if a == b else [name]
    return [changed for f in dataclasses.fields(a)
            for changed in differing_fields(getattr(a, f.name), getattr(b, f.name), f"{name}.{f.name}".lstrip("."))]


def config_changes(saved: Mapping[str, Any], wanted: ExplainConfig) -> list[str]:
    """The fields (``spes.masks``, ...) a run's saved settings (settings.json's ``config``) set otherwise than
    ``wanted``, sorted; ``config`` alone when this code cannot read them."""
    try:
        before = read_config(saved)
    except ValueError:
        return ["config"]
    return sorted(differing_fields(before, wanted))
