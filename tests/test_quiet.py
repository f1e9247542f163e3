"""s2t.quiet: the dependencies' known noise is dropped, everything else still shows."""

from __future__ import annotations

import logging
import warnings

import pytest

from s2t.quiet import silence


def test_the_litlogger_tip_is_dropped_and_other_lines_kept(caplog: pytest.LogCaptureFixture) -> None:
    silence()
    silence()  # idempotent: one filter per logger
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.INFO):
        logger.info("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]")
        logger.info("GPU available: False, used: False")
    assert [r.getMessage() for r in caplog.records] == ["GPU available: False, used: False"]


def test_lightnings_pytree_deprecation_is_silenced_and_other_warnings_kept() -> None:
    from lightning.pytorch.utilities._pytree import _tree_flatten

    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        _tree_flatten(1.0)
    assert any("LeafSpec" in str(w.message) for w in before)  # the noise exists on this stack
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        silence()
        _tree_flatten(1.0)
        warnings.warn("something else", FutureWarning)
    assert [str(w.message) for w in after] == ["something else"]
