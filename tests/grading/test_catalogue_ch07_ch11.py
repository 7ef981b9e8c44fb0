"""The self-check catalogues of chapters 7 and 11: every named mistake is planted in an otherwise
right answer, and the check must fail with exactly that entry's message (no other entry's);
the right answers pass the public suite and two hidden draws.

The catalogues live in dlbook/grading/questions/ch07.py and ch11.py (requirements that
recompute the answer with one mistake and name it when the student's outputs match; for
attention also an overflow check and a float32-promotion check).
"""
from __future__ import annotations

import math

import numpy as np
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch07, ch11

# -- right answers (NumPy only, as a student would write them) ---------------------------------


def residual_backward(x, W1, W2, grad_out, mistake=""):
    a = x @ W1.T
    h = np.maximum(a, 0)
    z = x + h @ W2.T
    g_z = grad_out if mistake == "outer" else grad_out * (z > 0)
    g_a = g_z @ W2 if mistake == "inner" else (g_z @ W2) * (a > 0)
    identity = {"unmasked": grad_out, "none": 0}.get(mistake, g_z)
    return identity + g_a @ W1, g_a.T @ x, g_z.T @ h


def inverted_residual_cost(c_in, c_out, t, stride, h, w, mistake=""):
    hidden = (c_out if mistake == "hidden_from_out" else c_in) * t
    h_out, w_out = -(-h // stride), -(-w // stride)
    expand = t != 1 or mistake == "expand_at_t1"
    depthwise = 9 * hidden * (hidden if mistake == "depthwise_full" else 1)
    params = (c_in * hidden if expand else 0) + depthwise + hidden * c_out
    if mistake != "no_batchnorm":
        params += 2 * ((hidden if expand else 0) + hidden + c_out)
    at_in, at_out = h * w, h_out * w_out
    if mistake == "stride_ignored":
        at_out = at_in
    if mistake == "stride_early":
        at_in = at_out
    macs = (at_in * c_in * hidden if expand else 0) + at_out * (depthwise + hidden * c_out)
    shortcut = {"shortcut_channels": stride == 1, "shortcut_stride": c_in == c_out}.get(
        mistake, stride == 1 and c_in == c_out)
    return params, macs, shortcut


def attention(q, k, v, mask, mistake=""):
    d = q.shape[-1]
    scale = {"no_scale": 1.0, "by_d": 1 / d}.get(mistake, 1 / math.sqrt(d))
    if mistake == "promoted":
        scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d) + mask  # float64 under NumPy 2
    else:
        scores = q @ np.swapaxes(k, -1, -2) * np.asarray(scale, q.dtype) + \
            (0 if mistake == "no_mask" else mask)
    axis = -2 if mistake == "axis" else -1
    if mistake != "overflow":
        scores = scores - scores.max(axis=axis, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(scores)
        weights = weights / weights.sum(axis=axis, keepdims=True)
    if mistake == "promoted":
        return weights @ v, weights
    return (weights @ v).astype(q.dtype), weights.astype(q.dtype)


def attention_backward(q, k, v, grad_out, mistake=""):
    scale = 1 / math.sqrt(q.shape[-1])
    scores = q @ np.swapaxes(k, -1, -2) * scale
    p = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    grad_v = np.swapaxes(p, -1, -2) @ grad_out
    grad_p = grad_out @ np.swapaxes(v, -1, -2)
    grad_a = p * grad_p if mistake == "no_rowsum" else \
        p * (grad_p - (grad_p * p).sum(axis=-1, keepdims=True))
    g = 1.0 if mistake == "no_scale" else scale
    return g * grad_a @ k, g * np.swapaxes(grad_a, -1, -2) @ q, grad_v


def causal_mask(size, mistake=""):
    return np.triu(np.full((size, size), -np.inf), k=1)


def position_shift(delta, d, mistake=""):
    m = np.zeros((d, d))
    for i in range(d // 2):
        w = 1 / 10000 ** ((i if mistake == "frequency" else 2 * i) / d)
        c, s = math.cos(w * delta), math.sin(w * delta)
        if mistake == "transposed":
            s = -s
        m[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, -s], [s, c]]
    return m


RIGHT = {"ch07.residual_backward": residual_backward,
         "ch07.inverted_residual_cost": inverted_residual_cost, "ch11.attention": attention,
         "ch11.attention_backward": attention_backward,
         "ch11.causal_mask": causal_mask, "ch11.position_shift": position_shift}

MUTANTS = [
    ("ch07.residual_backward", "unmasked", ch07.RES_SHORTCUT_UNMASKED),
    ("ch07.residual_backward", "none", ch07.RES_NO_SHORTCUT),
    ("ch07.residual_backward", "inner", ch07.RES_INNER_UNMASKED),
    ("ch07.residual_backward", "outer", ch07.RES_OUTER_UNMASKED),
    ("ch07.inverted_residual_cost", "expand_at_t1", ch07.IR_EXPAND_AT_T1),
    ("ch07.inverted_residual_cost", "hidden_from_out", ch07.IR_HIDDEN_FROM_OUT),
    ("ch07.inverted_residual_cost", "depthwise_full", ch07.IR_DEPTHWISE_FULL),
    ("ch07.inverted_residual_cost", "no_batchnorm", ch07.IR_NO_BATCHNORM),
    ("ch07.inverted_residual_cost", "stride_ignored", ch07.IR_STRIDE_IGNORED),
    ("ch07.inverted_residual_cost", "stride_early", ch07.IR_STRIDE_EARLY),
    ("ch07.inverted_residual_cost", "shortcut_channels", ch07.IR_SHORTCUT_CHANNELS),
    ("ch07.inverted_residual_cost", "shortcut_stride", ch07.IR_SHORTCUT_STRIDE),
    ("ch11.attention", "overflow", ch11.ATT_OVERFLOW),
    ("ch11.attention", "promoted", ch11.ATT_FLOAT64),
    ("ch11.attention", "no_scale", ch11.ATT_NO_SCALE),
    ("ch11.attention", "by_d", ch11.ATT_SCALE_D),
    ("ch11.attention", "axis", ch11.ATT_AXIS),
    ("ch11.attention", "no_mask", ch11.ATT_NO_MASK),
    ("ch11.attention_backward", "no_rowsum", ch11.BWD_NO_ROWSUM),
    ("ch11.attention_backward", "no_scale", ch11.BWD_NO_SCALE),
    ("ch11.position_shift", "transposed", ch11.SHIFT_TRANSPOSED),
    ("ch11.position_shift", "frequency", ch11.SHIFT_FREQUENCY),
]


(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(RIGHT, MUTANTS, [ch07, ch11])


def test_the_shift_matrix_moves_the_encoding():
    """The reference's M does what the question says, on encodings computed independently."""
    length, d, delta = 40, 8, 7
    t = np.arange(length)[:, None]
    freq = 1 / 10000 ** (np.arange(0, d, 2) / d)
    pe = np.zeros((length, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(t * freq), np.cos(t * freq)
    m = ch11._shift_reference(delta, d)["m"]
    assert np.allclose(pe[:-delta] @ m, pe[delta:], atol=1e-12)


def test_the_large_score_case_overflows_a_naive_softmax():
    case = ch11._attention_cases("public")[-1]
    q, k = case.args["q"], case.args["k"]
    assert (q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])).max() > 800
