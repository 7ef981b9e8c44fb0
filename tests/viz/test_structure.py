"""dlbook.viz.structure: the convolution matrix equals torch's conv1d, its transpose equals
torch's conv_transpose1d and the input gradient; pooling windows and gradient counts equal
torch's max pooling; the figures are well formed."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlbook.viz.structure import (  # noqa: E402
    conv1d_loops,
    conv1d_matrix,
    conv_transpose1d_loops,
    max_pool_gradient_counts,
    plot_conv_matrix,
    plot_pooling_windows,
    pooling_windows,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


CASES = [(7, 3, 1, 0), (8, 3, 2, 1), (9, 2, 3, 0), (5, 5, 1, 2), (6, 1, 2, 0)]


@pytest.mark.parametrize("n,k,stride,padding", CASES)
def test_matrix_and_loops_equal_torch_conv1d(n, k, stride, padding):
    rng = np.random.default_rng(n * 10 + k)
    x, w = rng.normal(size=n), rng.normal(size=k)
    ref = F.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=stride,
                   padding=padding)[0, 0].numpy()
    np.testing.assert_allclose(conv1d_matrix(w, n, stride, padding) @ x, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv1d_loops(x, w, stride, padding), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n,k,stride,padding", CASES)
def test_transpose_is_the_input_gradient_and_the_transposed_convolution(n, k, stride, padding):
    rng = np.random.default_rng(n + k)
    x, w = rng.normal(size=n), rng.normal(size=k)
    xt = torch.tensor(x, requires_grad=True)
    y = F.conv1d(xt[None, None], torch.tensor(w)[None, None], stride=stride, padding=padding)
    g = rng.normal(size=y.shape[-1])
    y.backward(torch.tensor(g)[None, None])
    matrix = conv1d_matrix(w, n, stride, padding)
    np.testing.assert_allclose(matrix.T @ g, xt.grad.numpy(), rtol=0, atol=1e-12)
    loops = conv_transpose1d_loops(g, w, n, stride, padding)
    np.testing.assert_allclose(loops, xt.grad.numpy(), rtol=0, atol=1e-12)
    out_pad = n - ((len(g) - 1) * stride - 2 * padding + k)  # torch's output_padding
    ref = F.conv_transpose1d(torch.tensor(g)[None, None], torch.tensor(w)[None, None],
                             stride=stride, padding=padding, output_padding=out_pad)[0, 0]
    np.testing.assert_allclose(loops, ref.numpy(), rtol=0, atol=1e-12)


def test_matrix_rows_are_the_kernel_shifted_by_the_stride():
    m = conv1d_matrix([1.0, 2.0, -1.0], 7, stride=2)
    np.testing.assert_array_equal(m, [[1, 2, -1, 0, 0, 0, 0],
                                      [0, 0, 1, 2, -1, 0, 0],
                                      [0, 0, 0, 0, 1, 2, -1]])


@pytest.mark.parametrize("bad", [dict(kernel=np.ones((2, 2)), n=5), dict(kernel=[], n=5),
                                 dict(kernel=[1.0, 2.0], n=5, stride=0),
                                 dict(kernel=[1.0] * 6, n=5)])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError):
        conv1d_matrix(**bad)


def test_transpose_checks_the_gradient_length():
    with pytest.raises(ValueError, match="shape"):
        conv_transpose1d_loops(np.ones(4), [1.0, 2.0], n=4)


@pytest.mark.parametrize("h,w,k,stride", [(4, 4, 2, None), (5, 5, 3, 2), (6, 5, 2, 1)])
def test_pooling_windows_and_gradient_counts_equal_torch(h, w, k, stride):
    rng = np.random.default_rng(h * w)
    x = rng.integers(0, 4, size=(h, w)).astype(float)  # small integers: ties happen
    xt = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt[None, None], k, stride=stride)
    assert len(pooling_windows(h, w, k, stride)) == out.numel()
    out.sum().backward()
    np.testing.assert_array_equal(max_pool_gradient_counts(x, k, stride), xt.grad.numpy())


def test_pooling_windows_reject_a_window_larger_than_the_input():
    with pytest.raises(ValueError, match="kernel_size"):
        pooling_windows(2, 3, 3)


def test_figures_are_well_formed():
    fig = plot_conv_matrix([1.0, 2.0, -1.0], 6, stride=1)
    forward, backward = fig.axes[:2]
    assert forward.images[0].get_array().shape == (4, 6)
    assert backward.images[0].get_array().shape == (6, 4)
    assert "M x" in forward.get_title() and "Mᵀ g" in backward.get_title()
    lo, hi = forward.images[0].get_clim()
    assert lo == -hi  # symmetric: white is zero
    fig = plot_pooling_windows(np.arange(25.0).reshape(5, 5), 3, stride=2)
    ax = fig.axes[0]
    assert len(ax.patches) == 4 and "stride 2" in ax.get_title()
    with pytest.raises(ValueError, match="2-D"):
        plot_pooling_windows(np.ones(5), 2)
