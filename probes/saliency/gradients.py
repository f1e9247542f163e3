"""Gradient-based saliency of each output token on the input filterbank, through Captum.

For output token i the explained quantity is f_i(x) = log p(token_i | prefix, tokens_<i, x),
the forced-decoded log-probability of the hypothesis token, as a function of the features
x (T, F). Methods:

    "saliency"              |df_i/dx|
    "input_x_gradient"      |x * df_i/dx|
    "integrated_gradients"  |(x - 0) * mean over the path of df_i/dx|, baseline all-zero
                            features (what SPES masks to), ``steps`` Gauss-Legendre points

Maps are magnitudes by default, as SPES scores are non-negative; ``signed=True`` keeps the
sign (e.g. to check IG's completeness: the sum of a token's attributions is
f_i(x) - f_i(0)).

Tokens are explained in batches: the utterance is repeated once per token (times the IG
steps) and each copy is differentiated for its own token, so one forward and one backward
pass serve up to ``internal_batch_size`` rows. Copies are independent only if the model
is in eval mode (no dropout, batch norm on running statistics), which is checked.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from probes.interface import ProbeModel, Utterance, forced

METHODS = ("saliency", "input_x_gradient", "integrated_gradients")


def _check_eval(model: ProbeModel) -> None:
    """Refuse a model whose modules (it, or the ``nn.Module``s it holds) are in training mode."""
    modules = [model] if isinstance(model, nn.Module) else []
    modules += [v for v in vars(model).values() if isinstance(v, nn.Module)]
    if any(sub.training for m in modules for sub in m.modules()):
        raise ValueError("gradient saliency needs the model in eval mode (dropout off, batch norm frozen): call .eval()")


def token_log_probs(model: ProbeModel, utt: Utterance) -> Callable[[Tensor], Tensor]:
    """Forward function for Captum: features (N, T, F) -> (N, I) log-probabilities of ``utt.tokens``."""

    def forward(features: Tensor) -> Tensor:
        log_probs = forced(model, utt, features).log_probs  # (N, I, V)
        tokens = torch.tensor(utt.tokens, device=log_probs.device).expand(log_probs.shape[0], -1)  # (N, I)
        return log_probs.gather(-1, tokens[..., None])[..., 0]  # (N, I)

    return forward


def _attribute(method: str, forward: Callable[[Tensor], Tensor], copies: Tensor, targets: list[int],
               steps: int, internal_batch_size: int) -> Tensor:
    """Signed attributions (N, T, F) of each copy (N, T, F) for its own target token."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency  # deferred: Captum loads matplotlib

    if method == "saliency":
        return Saliency(forward).attribute(copies, target=targets, abs=False)
    if method == "input_x_gradient":
        return InputXGradient(forward).attribute(copies, target=targets)
    return IntegratedGradients(forward).attribute(copies, baselines=0.0, target=targets, n_steps=steps,
                                                  internal_batch_size=internal_batch_size)


def gradient_saliency(model: ProbeModel, utt: Utterance, method: str = "saliency", steps: int = 16,
                      internal_batch_size: int = 32, signed: bool = False) -> Tensor:
    """Attribution maps (I, T, F) of each hypothesis token's log-probability on the input features.

    Args:
        model: a ``ProbeModel`` in eval mode; gradients are enabled here even under ``no_grad``.
        utt: the utterance, its ``tokens`` the hypothesis to explain; its features must be on
            the model's device.
        method: one of ``METHODS`` (see the module docstring).
        steps: integration points of ``"integrated_gradients"`` (ignored by the others).
        internal_batch_size: most rows (token copies x IG steps) in one forward pass.
        signed: keep the attributions' sign instead of returning magnitudes.

    Returns:
        (I, T, F) float32 on the CPU: row i is the attribution of token i.
    """
    if method not in METHODS:
        raise ValueError(f"unknown gradient method {method!r}; choose one of {METHODS}")
    if steps < 1 or internal_batch_size < 1:
        raise ValueError(f"steps={steps} and internal_batch_size={internal_batch_size} must be >= 1")
    _check_eval(model)
    forward = token_log_probs(model, utt)
    rows_per_token = steps if method == "integrated_gradients" else 1
    chunk = max(1, internal_batch_size // rows_per_token)  # tokens per call
    maps = [torch.zeros(0, *utt.features.shape)]  # (0, T, F): the result of an empty hypothesis
    with torch.enable_grad():
        for start in range(0, len(utt.tokens), chunk):
            targets = list(range(start, min(start + chunk, len(utt.tokens))))
            copies = utt.features.expand(len(targets), -1, -1).clone().requires_grad_()  # (N, T, F)
            maps.append(_attribute(method, forward, copies, targets, steps, internal_batch_size).detach().float().cpu())
    out = torch.cat(maps)  # (I, T, F)
    return out if signed else out.abs()
