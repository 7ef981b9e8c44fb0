"""The self-check catalogues of chapters 4-6: every named mistake is planted in an otherwise
right answer, and the check must fail with exactly that entry's message (no other entry's);
the right answers pass the public suite and two hidden draws.

The catalogues live in dlbook/grading/questions/ch04.py .. ch06.py (requirements that
recompute the answer with one mistake and name it when the student's outputs match).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from planted_mistakes import catalogue_tests

from dlbook.grading.questions import ch04, ch05, ch06

# -- right answers (NumPy only, as a student would write them) ---------------------------------


def dropout(x, keep, p, grad_out, mistake=""):
    scale = np.where(keep, 1.0 / (1.0 - p), 0.0)
    if mistake == "inverted":
        scale = np.where(keep, 0.0, 1.0 / (1.0 - p))
    if mistake != "dtype":
        scale = scale.astype(x.dtype)
    out = {"no_scale": x * keep, "times": x * keep * (1 - p)}.get(mistake, x * scale)
    grad_x = (grad_out / (1 - p)).astype(x.dtype) if mistake == "grad" else grad_out * scale
    return out, grad_x


def penalty(w, l1, l2, mistake=""):
    value = l1 * np.abs(w).sum() + (1.0 if mistake == "half" else 0.5) * l2 * np.sum(w * w)
    sign = np.where(w >= 0, 1.0, -1.0) if mistake == "sign" else np.sign(w)
    return value, l1 * sign + (2 if mistake == "twice" else 1) * l2 * w


def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay,
               mistake=""):
    beta1, beta2 = betas
    if mistake == "l2":
        grad = grad + weight_decay * param
    elif mistake != "after":
        param = param * (1 - (weight_decay if mistake == "no_lr" else lr * weight_decay))
    exp_avg = beta1 * exp_avg + (1 - beta1) * grad
    exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * (np.abs(grad) if mistake == "v" else
                                                     grad * grad)
    m_hat, v_hat = exp_avg / (1 - beta1**step), exp_avg_sq / (1 - beta2**step)
    if mistake == "bias":
        m_hat, v_hat = exp_avg, exp_avg_sq
    denom = np.sqrt(v_hat + eps) if mistake == "eps" else np.sqrt(v_hat) + eps
    param = param - lr * m_hat / denom
    if mistake == "after":
        param = param * (1 - lr * weight_decay)
    return param, exp_avg, exp_avg_sq


def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum, eps, mistake=""):
    n = x.shape[0]
    mean, var = x.mean(axis=0), x.var(axis=0)
    norm_var = x.var(axis=0, ddof=1) if mistake == "unbiased" else var
    denom = np.sqrt(norm_var) + eps if mistake == "eps" else np.sqrt(norm_var + eps)
    out = gamma * (x - mean) / denom + beta
    m = 1 - momentum if mistake == "momentum" else momentum
    new_mean = (1 - m) * running_mean + m * mean
    new_var = (1 - m) * running_var + m * (var if mistake == "running" else var * n / (n - 1))
    if mistake == "dtype":
        return out.astype(np.float64), new_mean.astype(np.float64), new_var.astype(np.float64)
    return out, new_mean.astype(x.dtype), new_var.astype(x.dtype)


def adam_l2_drift(theta0, weight_decay, lr, steps):
    theta = np.array(theta0, dtype=np.float64)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = weight_decay * theta
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        theta = theta - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return theta


def _norm_backward(grad_out, x, gamma, eps, axes, count, gamma_shape, mistake=""):
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    s = 1 / np.sqrt(var + eps)
    x_hat = (x - mu) * s
    gh = gamma.reshape(gamma_shape) * grad_out
    mean_term = 0 if mistake == "mean" else gh.sum(axis=axes, keepdims=True)
    var_term = 0 if mistake == "var" else x_hat * (gh * x_hat).sum(axis=axes, keepdims=True)
    return s / count * (count * gh - mean_term - var_term), x_hat


def layernorm_backward(grad_out, x, gamma, eps, mistake=""):
    axis = 0 if mistake == "batch" else -1
    grad_x, _ = _norm_backward(grad_out, x, gamma, eps, axis, x.shape[axis], (-1,), mistake)
    x_hat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    return grad_x, (grad_out * x_hat).sum(axis=0), grad_out.sum(axis=0)


def batchnorm2d_backward(grad_out, x, gamma, eps, mistake=""):
    axes = (0,) if mistake == "batch" else (0, 2, 3)
    count = int(np.prod([x.shape[a] for a in axes]))
    if mistake == "count":
        count = x.shape[0]
        mu, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
        s = 1 / np.sqrt(var + eps)
        x_hat = (x - mu) * s
        gh = gamma[None, :, None, None] * grad_out
        grad_x = s / count * (count * gh - gh.sum(axis=(0, 2, 3), keepdims=True)
                              - x_hat * (gh * x_hat).sum(axis=(0, 2, 3), keepdims=True))
    else:
        grad_x, _ = _norm_backward(grad_out, x, gamma, eps, axes, count, (1, -1, 1, 1))
    x_hat = (x - x.mean((0, 2, 3), keepdims=True)) / np.sqrt(x.var((0, 2, 3), keepdims=True)
                                                             + eps)
    return grad_x, (grad_out * x_hat).sum(axis=(0, 2, 3)), grad_out.sum(axis=(0, 2, 3))


def confusion_matrix(y_true, y_pred, num_classes, mistake=""):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return {"transposed": cm.T, "normalised": cm / len(y_true)}.get(mistake, cm)


def macro_f1(y_true, y_pred, num_classes, mistake=""):
    cm = confusion_matrix(y_true, y_pred, num_classes).astype(float)
    tp = np.diag(cm)
    fp, fn, support = cm.sum(0) - tp, cm.sum(1) - tp, cm.sum(1)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    if mistake == "micro":
        return np.mean(y_true == y_pred)
    if mistake == "weighted":
        return np.sum(f1 * support) / support.sum()
    if mistake == "skipped":
        return f1[(denom > 0) & (support > 0)].mean()
    if mistake == "harmonic":
        p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0).mean()
        r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0).mean()
        return 2 * p * r / (p + r)
    return f1.mean()


def roc_auc_rank(y_true, scores, mistake=""):
    pos, neg = scores[y_true == 1][:, None], scores[y_true == 0][None, :]
    tie = {"zero": 0.0, "one": 1.0}.get(mistake, 0.5)
    auc = np.mean((pos > neg) + tie * (pos == neg))
    return 1 - auc if mistake == "reversed" else auc


def kfold_split(n_samples, n_splits, fold, mistake=""):
    idx = np.arange(n_samples)
    if mistake == "strided":
        val = idx[fold::n_splits]
    else:
        sizes = np.full(n_splits, n_samples // n_splits)
        if mistake == "last":
            sizes[n_splits - n_samples % n_splits:] += 1
        elif mistake != "dropped":
            sizes[:n_samples % n_splits] += 1
        start = sizes[:fold].sum()
        val = idx[start:start + sizes[fold]]
    return np.setdiff1d(idx, val), val


def bias_variance(x_train, degree, noise_sd, x_grid, mistake=""):
    hat = np.vander(x_grid, degree + 1) @ np.linalg.pinv(np.vander(x_train, degree + 1))
    f_train, f_grid = np.sin(2 * np.pi * x_train), np.sin(2 * np.pi * x_grid)
    variance = noise_sd**2 * np.mean(np.sum(hat**2, axis=1))
    bias2 = np.mean((hat @ f_train - f_grid) ** 2)
    if mistake == "noise":
        variance += noise_sd**2
    if mistake == "monte_carlo":  # the mean of 200 noisy fits, compared with f
        rng = np.random.default_rng(0)
        fits = hat @ (f_train[:, None] + noise_sd * rng.normal(size=(len(x_train), 200)))
        bias2 = np.mean((fits.mean(axis=1) - f_grid) ** 2)
    return bias2, variance


def early_stopping_epochs(val_losses, patience, min_delta, mistake=""):
    best, best_epoch, bad = np.inf, -1, 0
    for epoch, loss in enumerate(val_losses):
        improves = loss < best if mistake == "no_delta" else loss < best - min_delta
        if improves:
            best, best_epoch, bad = loss, epoch, 0
        else:
            bad += 1
            if bad >= patience + (mistake == "late"):
                return (epoch - 1 if mistake == "last" else best_epoch), epoch
    return best_epoch, -1


def calibration(y_true, p, n_bins, mistake=""):
    # A student's loop over the bins (lo, hi]; the mistakes as students make them.
    if mistake == "edge":  # floor(p * n): an edge goes to the bin above
        ids = np.minimum((p * n_bins).astype(int), n_bins - 1)
    else:
        ids = np.clip(np.ceil(p * n_bins).astype(int) - 1, 0, n_bins - 1)
    if mistake == "top_label":
        y_true, p = ((p > 0.5) == (y_true == 1)).astype(float), np.maximum(p, 1 - p)
        ids = np.clip(np.ceil(p * n_bins).astype(int) - 1, 0, n_bins - 1)
    counts = np.array([np.sum(ids == b) for b in range(n_bins)])
    gaps, weights = [], []
    for b in range(n_bins):
        if counts[b]:
            gap = y_true[ids == b].mean() - p[ids == b].mean()
            gaps.append(gap if mistake == "signed" else abs(gap))
            weights.append(counts[b] / len(p))
    if mistake == "plain":  # the planted bug
        ece = np.mean(gaps)
    elif mistake == "all_bins":
        ece = np.sum(gaps) / n_bins
    else:
        ece = np.dot(weights, gaps)
    return ece, counts


def _im2col(x, kernel_size, stride, padding):
    k, s = kernel_size, stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, hp, wp = xp.shape
    h_out, w_out = (hp - k) // s + 1, (wp - k) // s + 1
    cols = np.empty((c, k, k, n, h_out, w_out))
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, :, i:i + s * h_out:s, j:j + s * w_out:s].transpose(1, 0, 2, 3)
    return cols


def im2col(x, kernel_size, stride, padding, mistake=""):
    cols = _im2col(x, kernel_size, stride, padding)
    if mistake == "rows":
        cols = cols.transpose(1, 2, 0, 3, 4, 5)
    elif mistake == "cols":
        cols = cols.transpose(0, 1, 2, 4, 5, 3)
    return cols.reshape(np.prod(cols.shape[:3]), -1)


def conv_forward(x, weight, bias, stride, padding, mistake=""):
    if mistake == "flipped":
        weight = weight[:, :, ::-1, ::-1]
    if mistake == "no_bias":
        bias = 0 * bias
    c_out, _, k, _ = weight.shape
    cols = _im2col(x, k, stride, padding)
    n, h_out, w_out = cols.shape[3:]
    out = weight.reshape(c_out, -1) @ cols.reshape(-1, n * h_out * w_out) + bias[:, None]
    return out.reshape(c_out, n, h_out, w_out).transpose(1, 0, 2, 3)


def conv_backward(x, weight, grad_out, stride, padding, mistake=""):
    c_out, c, k, _ = weight.shape
    cols = _im2col(x, k, stride, padding)
    n, h_out, w_out = cols.shape[3:]
    g = grad_out.transpose(1, 0, 2, 3).reshape(c_out, -1)
    grad_w = (g @ cols.reshape(c * k * k, -1).T).reshape(weight.shape)
    w_back = weight[:, :, ::-1, ::-1] if mistake == "x_unflipped" else weight
    gcols = (w_back.reshape(c_out, -1).T @ g).reshape(c, k, k, n, h_out, w_out)
    grad_pad = np.zeros((n, c, x.shape[2] + 2 * padding, x.shape[3] + 2 * padding))
    for i in range(k):
        for j in range(k):
            grad_pad[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride] += \
                gcols[:, i, j].transpose(1, 0, 2, 3)
    grad_x = grad_pad[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    if mistake == "w_flipped":
        grad_w = grad_w[:, :, ::-1, ::-1]
    return grad_x, grad_w, grad_out.sum(axis=(0, 2, 3))


def _pool(x, grad_out, k, s, tie="first", add=True):
    grad = np.zeros(x.shape)
    for n, c, h, w in np.ndindex(grad_out.shape):
        window = x[n, c, h * s:h * s + k, w * s:w * s + k]
        at = np.argwhere(window == window.max())
        targets = {"last": at[-1:], "all": at, "split": at}.get(tie, at[:1])
        for i, j in targets:
            share = grad_out[n, c, h, w] / (len(at) if tie == "split" else 1)
            if add:
                grad[n, c, h * s + i, w * s + j] += share
            else:
                grad[n, c, h * s + i, w * s + j] = share
    return grad


def maxpool_backward(x, grad_out, kernel_size, mistake="first"):
    return _pool(x, grad_out, kernel_size, kernel_size, tie=mistake)


def maxpool_backward_overlap(x, grad_out, kernel_size, stride, mistake=""):
    return _pool(x, grad_out, kernel_size, stride, tie=mistake or "first",
                 add=mistake != "assigned")


def avgpool_backward(x, grad_out, kernel_size, mistake=""):
    k = kernel_size
    d = {"by_k": k, "undivided": 1}.get(mistake, k * k)
    return np.repeat(np.repeat(grad_out, k, axis=2), k, axis=3) / d


def receptive_field(kernel_sizes, strides, mistake=""):
    size, jump = 1, 1
    for k, s in zip(kernel_sizes, strides, strict=True):
        if mistake == "own":
            jump *= s
        size += (k - 1) * (1 if mistake == "no_jump" else jump)
        if mistake != "own":
            jump *= s
    return size


RIGHT: dict[str, Callable] = {
    "ch04.dropout": dropout, "ch04.penalty": penalty, "ch04.adamw_step": adamw_step,
    "ch04.adam_l2_drift": adam_l2_drift, "ch04.batchnorm_forward": batchnorm_forward,
    "ch04.batchnorm2d_backward": batchnorm2d_backward,
    "ch04.layernorm_backward": layernorm_backward,
    "ch05.confusion_matrix": confusion_matrix, "ch05.macro_f1": macro_f1,
    "ch05.roc_auc_rank": roc_auc_rank, "ch05.kfold_split": kfold_split,
    "ch05.bias_variance": bias_variance, "ch05.early_stopping_epochs": early_stopping_epochs,
    "ch05.calibration_find_the_bug": calibration,
    "ch06.im2col": im2col, "ch06.conv_forward": conv_forward, "ch06.conv_backward": conv_backward,
    "ch06.maxpool_backward": maxpool_backward,
    "ch06.maxpool_backward_overlap": maxpool_backward_overlap,
    "ch06.avgpool_backward": avgpool_backward, "ch06.receptive_field": receptive_field,
}

# (question, mistake planted, the message that must name it)
MUTANTS = [
    ("ch04.dropout", "inverted", ch04.DROPOUT_INVERTED),
    ("ch04.dropout", "no_scale", ch04.DROPOUT_NO_SCALE),
    ("ch04.dropout", "times", ch04.DROPOUT_TIMES),
    ("ch04.dropout", "grad", ch04.DROPOUT_GRAD_NO_MASK),
    ("ch04.dropout", "dtype", ch04.DROPOUT_DTYPE),
    ("ch04.penalty", "half", ch04.PENALTY_HALF),
    ("ch04.penalty", "twice", ch04.PENALTY_GRAD_TWICE),
    ("ch04.penalty", "sign", ch04.PENALTY_SIGN_AT_ZERO),
    ("ch04.adamw_step", "l2", ch04.ADAMW_L2),
    ("ch04.adamw_step", "v", ch04.ADAMW_V_NOT_SQUARED),
    ("ch04.adamw_step", "bias", ch04.ADAMW_NO_BIAS_CORRECTION),
    ("ch04.adamw_step", "eps", ch04.ADAMW_EPS_INSIDE),
    ("ch04.adamw_step", "no_lr", ch04.ADAMW_DECAY_NO_LR),
    ("ch04.adamw_step", "after", ch04.ADAMW_DECAY_AFTER),
    ("ch04.batchnorm_forward", "unbiased", ch04.BN_UNBIASED_OUT),
    ("ch04.batchnorm_forward", "eps", ch04.BN_EPS_OUTSIDE),
    ("ch04.batchnorm_forward", "momentum", ch04.BN_MOMENTUM_SWAPPED),
    ("ch04.batchnorm_forward", "running", ch04.BN_RUNNING_BIASED),
    ("ch04.batchnorm_forward", "dtype", ch04.BN_DTYPE),
    ("ch04.batchnorm2d_backward", "batch", ch04.BN2D_BATCH_ONLY),
    ("ch04.batchnorm2d_backward", "count", ch04.BN2D_COUNT),
    ("ch04.layernorm_backward", "batch", ch04.LN_BATCH_AXIS),
    ("ch04.layernorm_backward", "mean", ch04.LN_NO_MEAN_TERM),
    ("ch04.layernorm_backward", "var", ch04.LN_NO_VAR_TERM),
    ("ch05.confusion_matrix", "transposed", ch05.CM_TRANSPOSED),
    ("ch05.confusion_matrix", "normalised", ch05.CM_NORMALISED),
    ("ch05.macro_f1", "micro", ch05.F1_MICRO),
    ("ch05.macro_f1", "weighted", ch05.F1_WEIGHTED),
    ("ch05.macro_f1", "skipped", ch05.F1_SKIPPED),
    ("ch05.macro_f1", "harmonic", ch05.F1_MEAN_PR),
    ("ch05.roc_auc_rank", "zero", ch05.AUC_TIES_ZERO),
    ("ch05.roc_auc_rank", "one", ch05.AUC_TIES_ONE),
    ("ch05.roc_auc_rank", "reversed", ch05.AUC_REVERSED),
    ("ch05.kfold_split", "last", ch05.KFOLD_LAST_LARGER),
    ("ch05.kfold_split", "dropped", ch05.KFOLD_DROPPED),
    ("ch05.kfold_split", "strided", ch05.KFOLD_STRIDED),
    ("ch05.bias_variance", "noise", ch05.BV_NOISE),
    ("ch05.bias_variance", "monte_carlo", ch05.BV_MONTE_CARLO),
    ("ch05.early_stopping_epochs", "no_delta", ch05.ES_NO_MIN_DELTA),
    ("ch05.early_stopping_epochs", "late", ch05.ES_LATE),
    ("ch05.early_stopping_epochs", "last", ch05.ES_LAST),
    ("ch05.calibration_find_the_bug", "edge", ch05.CAL_EDGE),
    ("ch05.calibration_find_the_bug", "plain", ch05.CAL_UNWEIGHTED),
    ("ch05.calibration_find_the_bug", "all_bins", ch05.CAL_ALL_BINS),
    ("ch05.calibration_find_the_bug", "signed", ch05.CAL_SIGNED),
    ("ch05.calibration_find_the_bug", "top_label", ch05.CAL_TOP_LABEL),
    ("ch06.im2col", "rows", ch06.IM2COL_ROWS),
    ("ch06.im2col", "cols", ch06.IM2COL_COLS),
    ("ch06.conv_forward", "flipped", ch06.CONV_FLIPPED),
    ("ch06.conv_forward", "no_bias", ch06.CONV_NO_BIAS),
    ("ch06.conv_backward", "w_flipped", ch06.CONV_GRAD_W_FLIPPED),
    ("ch06.conv_backward", "x_unflipped", ch06.CONV_GRAD_X_UNFLIPPED),
    ("ch06.maxpool_backward", "last", ch06.POOL_LAST),
    ("ch06.maxpool_backward", "all", ch06.POOL_ALL),
    ("ch06.maxpool_backward", "split", ch06.POOL_SPLIT),
    ("ch06.maxpool_backward_overlap", "assigned", ch06.POOL_OVERLAP_ASSIGNED),
    ("ch06.maxpool_backward_overlap", "last", ch06.POOL_LAST),
    ("ch06.maxpool_backward_overlap", "all", ch06.POOL_ALL),
    ("ch06.avgpool_backward", "by_k", ch06.AVG_BY_K),
    ("ch06.avgpool_backward", "undivided", ch06.AVG_NOT_DIVIDED),
    ("ch06.receptive_field", "no_jump", ch06.RF_NO_JUMP),
    ("ch06.receptive_field", "own", ch06.RF_OWN_STRIDE),
]

(test_the_right_answer_passes_every_suite, test_each_planted_mistake_gets_exactly_its_message,
 test_every_catalogue_message_is_planted) = catalogue_tests(RIGHT, MUTANTS, [ch04, ch05, ch06])
