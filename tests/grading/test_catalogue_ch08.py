"""The self-check catalogues of chapter 8's CIFG forward (exercise 2, a variant the chapter
does not write) and LSTM backward (exercise 3, a derivation with no formula printed): every
named mistake is planted in an otherwise right answer, written as a
student would, and the check must fail with exactly that entry's message (no other entry's);
the right answer passes the public suite and two hidden draws.
"""
from __future__ import annotations

import numpy as np
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch08

QUESTION = "ch08.lstm_cell_backward"
CIFG = "ch08.cifg_cell_forward"


def cifg_cell_forward(x, h, c, w_ih, w_hh, b_ih, b_hh, mistake=""):
    a = x @ w_ih.T + b_ih + h @ w_hh.T
    if mistake != "one bias":
        a = a + b_hh
    H = h.shape[-1]
    a_f, a_g, a_o = a[..., :H], a[..., H:2 * H], a[..., 2 * H:]
    if mistake == "gate order":
        a_g, a_o = a[..., 2 * H:], a[..., H:2 * H]
    f = 1 / (1 + np.exp(-a_f))
    g = np.tanh(a_g)
    o = 1 / (1 + np.exp(-a_o))
    i = f if mistake == "not coupled" else 1 - f
    if mistake == "reversed":
        c_new = (1 - f) * c + f * g
    else:
        c_new = f * c + i * g
    if mistake == "no tanh":
        return o * c_new, c_new
    return o * np.tanh(c if mistake == "old c" else c_new), c_new


def lstm_cell_backward(grad_h, grad_c, x, h, c, w_ih, w_hh, b_ih, b_hh, mistake=""):
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, o = (1 / (1 + np.exp(-v)) for v in (a_i, a_f, a_o))
    g = np.tanh(a_g)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    slope = 1 - c_new**2 if mistake == "tanh" else 1 - tanh_c**2
    c_total = grad_c + grad_h * o * slope
    if mistake == "one path":
        c_total = grad_c
    if mistake == "no grad_c":
        c_total = grad_h * o * slope
    d_o = (c_total if mistake == "output gate" else grad_h) * tanh_c * o * (1 - o)
    d_f = c_total * (c_new if mistake == "forget input" else c) * f * (1 - f)
    d_i, d_g = c_total * g * i * (1 - i), c_total * i * (1 - g**2)
    order = [d_i, d_f, d_o, d_g] if mistake == "gate order" else [d_i, d_f, d_g, d_o]
    grad_a = np.concatenate(order, axis=-1)
    rows = grad_a.reshape(-1, grad_a.shape[-1])
    grad_b = rows.sum(axis=0)
    return (grad_a @ w_ih, grad_a @ w_hh, c_total if mistake == "c prev" else c_total * f,
            rows.T @ x.reshape(len(rows), -1), rows.T @ h.reshape(len(rows), -1),
            2 * grad_b if mistake == "bias twice" else grad_b)


CIFG_MUTANTS = [("reversed", ch08.CIFG_COUPLING_REVERSED), ("not coupled", ch08.CIFG_NOT_COUPLED),
                ("gate order", ch08.CIFG_GATE_ORDER), ("no tanh", ch08.CIFG_NO_TANH),
                ("old c", ch08.CIFG_OLD_C), ("one bias", ch08.CIFG_ONE_BIAS)]
MUTANTS = [("one path", ch08.LSTM_C_ONE_PATH), ("no grad_c", ch08.LSTM_NO_GRAD_C),
           ("tanh", ch08.LSTM_TANH_DERIVATIVE), ("output gate", ch08.LSTM_OUTPUT_GATE),
           ("forget input", ch08.LSTM_FORGET_INPUT), ("c prev", ch08.LSTM_C_PREV),
           ("gate order", ch08.LSTM_GATE_ORDER), ("bias twice", ch08.LSTM_BIAS_TWICE)]


(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(
    {QUESTION: lstm_cell_backward, CIFG: cifg_cell_forward},
    [(QUESTION, mistake, message) for mistake, message in MUTANTS]
    + [(CIFG, mistake, message) for mistake, message in CIFG_MUTANTS],
    [ch08])
