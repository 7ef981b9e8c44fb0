r"""Text for character-level language models: a corpus shipped in the repository, a character
vocabulary, random training windows, and a smoothed n-gram baseline.

The corpus, ``python_docs.txt`` (about 197,000 characters), is the first 37 topics of the
Python documentation that CPython ships in its standard library (``pydoc_data.topics``, the
text ``help()`` shows), copyright the Python Software Foundation, licensed under the PSF
License Agreement (PSF-2.0); the file's header says so, and the licence's text ships
beside it (``LICENSE-PSF.txt``, package data like the corpus). Nothing is downloaded.

The baseline, :class:`NGramLM`, is an interpolated absolute-discounting n-gram model
(Ney, Essen & Kneser 1994, "On structuring probabilistic dependences in stochastic language
modelling", Computer Speech & Language 8):

.. math::
    p_k(c \mid u) = \frac{\max(C(u c) - d, 0)}{C(u)}
                  + \frac{d\, N_{1+}(u \,\cdot)}{C(u)}\, p_{k-1}(c \mid u'),
    \qquad p_0(c) = \frac1V,

where :math:`u` is the context of the last :math:`k-1` characters, :math:`u'` the same
without its first character, :math:`C` counts in the training text, :math:`N_{1+}(u\,\cdot)`
is the number of distinct characters seen after :math:`u`, and an unseen context falls back
to :math:`p_{k-1}`. The weights sum to 1 for every context, so the model is a proper
distribution, and with :math:`d > 0` it never gives a character probability 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPUS_PATH = Path(__file__).with_name("python_docs.txt")
_HEADER_END = "# ---\n"


def load_python_docs(path: str | Path = CORPUS_PATH) -> str:
    """The corpus text without its licence header (ASCII letters, digits, punctuation,
    spaces and newlines)."""
    text = Path(path).read_text(encoding="utf-8")
    head, sep, body = text.partition(_HEADER_END)
    return body if sep else text


@dataclass(frozen=True)
class CharVocab:
    """The characters of a text, in sorted order; character ``chars[i]`` has id ``i``."""

    chars: str

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters (int64); a ``KeyError`` names an unknown one."""
        index = {c: i for i, c in enumerate(self.chars)}
        try:
            return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise KeyError(f"character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.chars[int(i)] for i in np.ravel(ids))


def random_windows(ids: np.ndarray, batch_size: int, seq_len: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` windows of ``seq_len`` ids starting at random places, and the same
    windows moved on by one character (the targets): ``y[:, t] = x[:, t + 1]`` inside a window.

    Shape: ``x``, ``y``: ``(batch_size, seq_len)``.
    """
    if len(ids) < seq_len + 1:
        raise ValueError(f"random_windows: a text of {len(ids)} ids is shorter than seq_len + 1 "
                         f"= {seq_len + 1}")
    starts = rng.integers(0, len(ids) - seq_len, size=batch_size)
    index = starts[:, None] + np.arange(seq_len)
    return ids[index], ids[index + 1]


class NGramLM:
    """Interpolated absolute-discounting character n-gram model (see the module docstring).

    Args:
        order: ``n``: the model looks at the previous ``n - 1`` characters.
        discount: ``d`` in ``[0, 1]``, subtracted from every seen count.
    """

    def __init__(self, order: int, discount: float = 0.75) -> None:
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if not 0.0 <= discount <= 1.0:
            raise ValueError(f"discount must be in [0, 1], got {discount}")
        self.order, self.discount = order, discount
        self.vocab_size = 0
        self._tables: list[dict[str, np.ndarray]] = []

    def fit(self, ids: np.ndarray, vocab_size: int) -> NGramLM:
        """Count every k-gram (k = 1..order) of the id sequence ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
            raise ValueError(f"ids must lie in [0, {vocab_size}), got [{ids.min()}, {ids.max()}]")
        if vocab_size ** self.order >= 2**62:
            raise ValueError(f"vocab_size {vocab_size} ** order {self.order} does not fit the "
                             "int64 keys of the count tables; use a lower order")
        self.vocab_size = vocab_size
        self._tables = []
        for k in range(1, self.order + 1):
            ctx = _keys(ids, k - 1, vocab_size)[:len(ids) - k + 1]  # context ending at t-1
            grams, counts = np.unique(ctx * vocab_size + ids[k - 1:], return_counts=True)
            contexts, first = np.unique(grams // vocab_size, return_index=True)
            self._tables.append({
                "grams": grams, "counts": counts.astype(np.float64), "contexts": contexts,
                "context_counts": np.add.reduceat(counts, first).astype(np.float64),
                "distinct": np.diff(np.append(first, len(grams))).astype(np.float64)})
        return self

    def probs(self, history: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """:math:`p(\\text{nxt}_m \\mid \\text{history}_m)` for each row ``m``.

        ``history``: ``(M, order - 1)`` previous ids, oldest first, ``-1`` where the text had
        not started yet (those contexts fall back to shorter ones); ``nxt``: ``(M,)``.
        """
        if not self._tables:
            raise RuntimeError("NGramLM: call fit() before probs()")
        V, d = self.vocab_size, self.discount
        history = np.asarray(history, dtype=np.int64).reshape(len(nxt), self.order - 1)
        p = np.full(len(nxt), 1.0 / V)
        for k, table in enumerate(self._tables, start=1):
            j = k - 1  # context length
            part = history[:, history.shape[1] - j:] if j else history[:, :0]
            valid = np.all(part >= 0, axis=1)
            ctx = _row_keys(np.where(part >= 0, part, 0), V)
            c_ctx, hit = _lookup(table["contexts"], ctx, table["context_counts"])
            n_distinct, _ = _lookup(table["contexts"], ctx, table["distinct"])
            c_gram, _ = _lookup(table["grams"], ctx * V + nxt, table["counts"])
            seen = valid & hit
            with np.errstate(divide="ignore", invalid="ignore"):
                smoothed = (np.maximum(c_gram - d, 0) + d * n_distinct * p) / c_ctx
            p = np.where(seen, smoothed, p)
        return p

    def log_likelihoods(self, ids: np.ndarray) -> np.ndarray:
        """:math:`\\log p(\\text{ids}_t \\mid \\text{ids}_{<t})` for ``t = 1 .. len - 1``."""
        ids = np.asarray(ids, dtype=np.int64)
        padded = np.concatenate([np.full(self.order - 1, -1, dtype=np.int64), ids])
        n = len(ids)
        index = np.arange(1, n)[:, None] + np.arange(self.order - 1)  # ids[t-order+1 .. t-1]
        with np.errstate(divide="ignore"):  # log 0 = -inf, possible only when discount = 0
            return np.log(self.probs(padded[index], ids[1:]))

    def distribution(self, context: np.ndarray) -> np.ndarray:
        """The next-character distribution after ``context`` (its last ``order - 1`` ids)."""
        history = np.full(self.order - 1, -1, dtype=np.int64)
        tail = np.asarray(context, dtype=np.int64)[len(context) - (self.order - 1):]
        if self.order > 1 and len(tail):
            history[-len(tail):] = tail
        rows = np.repeat(history[None], self.vocab_size, axis=0)
        return self.probs(rows, np.arange(self.vocab_size))


def _keys(ids: np.ndarray, j: int, V: int) -> np.ndarray:
    """The integer key of the ``j`` ids ending at each position ``t - 1`` (key 0 for j = 0),
    for ``t = j .. len(ids)``, as one int64 per position."""
    n = len(ids) - j + 1
    key = np.zeros(n, dtype=np.int64)
    for i in range(j):
        key = key * V + ids[i:i + n]
    return key


def _row_keys(rows: np.ndarray, V: int) -> np.ndarray:
    key = np.zeros(len(rows), dtype=np.int64)
    for i in range(rows.shape[1]):
        key = key * V + rows[:, i]
    return key


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray,
            values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` at each key's place in ``sorted_keys`` (0 where absent), and the hit mask."""
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    hit = sorted_keys[pos] == keys
    return np.where(hit, values[pos], 0.0), hit
