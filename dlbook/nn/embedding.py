r"""``Embedding``: a lookup table of learned vectors, as ``torch.nn.Embedding``.

Row :math:`i` of ``weight`` is the vector of token :math:`i`; the forward pass is indexing,
``out = weight[indices]``. It equals multiplying a one-hot matrix :math:`E` (one row per index)
by ``weight``, :math:`y = E W`, so the backward pass is :math:`\partial L/\partial W = E^\top G`:
each index's row of the upstream gradient :math:`G` is *added* into the row it read, once per
occurrence (``np.add.at``, which, unlike ``grad[idx] += g``, accumulates repeated indices).
Indices are integers, so there is no input gradient.

Reference:
    Y. Bengio, R. Ducharme, P. Vincent, C. Jauvin, "A Neural Probabilistic Language Model",
    JMLR 3, 2003. https://jmlr.org/papers/v3/bengio03a.html
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.nn import init
from dlbook.nn._checks import check_grad
from dlbook.nn.module import Module, to_numpy
from dlbook.nn.parameter import Parameter


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index.

    Args:
        num_embeddings: the size of the vocabulary.
        embedding_dim: the size of each vector.
        padding_idx: an index whose row starts at zero and never receives a gradient (it stays
            fixed, e.g. for padding tokens); negative values count from the end.
        max_norm: NOTE: not supported; torch renormalises the looked-up rows *in place* during
            the forward pass, a side effect dlbook leaves out. Passing a value raises
            ``NotImplementedError``.
        norm_type: the p of the p-norm for ``max_norm`` (kept for torch's signature).
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in the
            mini-batch.
        sparse: accepted for torch's signature. NOTE: dlbook's gradient is always a dense
            array; its values equal torch's sparse gradient made dense.
        dtype: dtype of ``weight`` (float32 by default, as torch).
        generator: ``np.random.Generator`` for the initial weights (dlbook's default if None).

    ``weight`` is drawn from :math:`\mathcal N(0, 1)` (dlbook's generator), with the
    ``padding_idx`` row zeroed, as torch does.

    Backward, with :math:`G` the upstream gradient flattened to ``(K, embedding_dim)`` and
    :math:`i_k` the flattened indices:

    .. math::
        \frac{\partial L}{\partial W_j} = \sum_{k:\, i_k = j} G_k
        \quad\Big(\times\,\frac{1}{|\{k: i_k = j\}|}\text{ with scale\_grad\_by\_freq}\Big),
        \qquad \frac{\partial L}{\partial W_{\text{padding\_idx}}} = 0.

    Shape:
        - Input: integer array ``(*)``; Output: ``(*, embedding_dim)``.
        - ``weight``: ``(num_embeddings, embedding_dim)``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, dtype=np.float32, *,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if max_norm is not None:
            raise NotImplementedError("Embedding: max_norm is not supported in dlbook (torch "
                                      "renormalises rows of weight in place during forward); "
                                      "use max_norm=None")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx ({padding_idx}) must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                self.weight.data[padding_idx] = 0
        else:
            weight = to_numpy(_weight)
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {weight.shape}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An ``Embedding`` holding a copy of the 2-D ``embeddings`` (frozen by default)."""
        embeddings = to_numpy(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{embeddings.shape}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def _check_indices(self, indices: Any) -> np.ndarray:
        if hasattr(indices, "detach") and hasattr(indices, "cpu"):
            raise TypeError("Embedding: got a torch tensor; dlbook.nn works on NumPy arrays "
                            "(use tensor.detach().cpu().numpy())")
        indices = np.asarray(indices)
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"Embedding: indices must be an integer array, got {indices.dtype} "
                            "(use indices.astype(np.int64))")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            bad = indices[(indices < 0) | (indices >= self.num_embeddings)].flat[0]
            raise IndexError(f"Embedding: index {bad} is out of range for an embedding with "
                             f"num_embeddings={self.num_embeddings} (valid: 0 to "
                             f"{self.num_embeddings - 1})")
        return indices

    checks_input_dtype = False  # indices: _check_indices names a floating input

    def forward(self, indices: np.ndarray) -> np.ndarray:
        indices = self._check_indices(indices)
        self.save_for_backward(indices=indices)
        return self.weight.data[indices]

    def backward(self, grad_out: np.ndarray) -> None:
        """Add into ``weight.grad``; return ``None`` (integer indices have no gradient)."""
        idx = self.saved.indices
        grad_out = check_grad(grad_out, idx.shape + (self.embedding_dim,), "Embedding")
        flat_idx = idx.reshape(-1)
        rows = grad_out.reshape(-1, self.embedding_dim)
        if self.scale_grad_by_freq:
            counts = np.bincount(flat_idx, minlength=self.num_embeddings)
            rows = rows / counts[flat_idx, None]
        grad_w = np.zeros(self.weight.shape, dtype=np.result_type(grad_out, self.weight.dtype))
        np.add.at(grad_w, flat_idx, rows)
        if self.padding_idx is not None:
            grad_w[self.padding_idx] = 0
        self.weight.accumulate_grad(grad_w)
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s
