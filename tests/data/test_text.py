"""dlbook.data.text: the shipped corpus, the character vocabulary, training windows and the
interpolated absolute-discounting n-gram model (checked against a plain-Python version)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from dlbook.data.text import CORPUS_PATH, CharVocab, NGramLM, load_python_docs, random_windows


def test_corpus_ships_with_its_licence_and_loads_without_it():
    raw = CORPUS_PATH.read_text(encoding="utf-8")
    assert "Python Software Foundation" in raw and "PSF" in raw
    text = load_python_docs()
    assert text.startswith('The "assert" statement')
    assert 150_000 < len(text) < 300_000
    assert all(c == "\n" or 32 <= ord(c) < 127 for c in text)  # plain ASCII


def test_vocab_round_trip_and_errors():
    vocab = CharVocab.from_text("hello world")
    assert vocab.chars == " dehlorw" and len(vocab) == 8
    ids = vocab.encode("low")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "low"
    with pytest.raises(KeyError, match="'z'"):
        vocab.encode("lwz")


def test_random_windows_are_shifted_by_one():
    ids = np.arange(100)
    x, y = random_windows(ids, batch_size=7, seq_len=10, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (7, 10)
    np.testing.assert_array_equal(y, x + 1)  # consecutive ids: the target is the next one
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    with pytest.raises(ValueError, match="shorter"):
        random_windows(ids[:5], 2, 5, np.random.default_rng(0))


def reference_prob(counts, order, V, d, history, c):
    """(8.9) by recursion over plain dictionaries of counts."""
    p = 1.0 / V
    for k in range(1, order + 1):
        ctx = tuple(history[len(history) - (k - 1):]) if k > 1 else ()
        if len(ctx) < k - 1 or any(h < 0 for h in ctx):
            continue
        grams = counts[k]
        c_ctx = sum(n for g, n in grams.items() if g[:-1] == ctx)
        if c_ctx == 0:
            continue
        distinct = sum(1 for g in grams if g[:-1] == ctx)
        p = (max(grams.get(ctx + (c,), 0) - d, 0) + d * distinct * p) / c_ctx
    return p


@pytest.mark.parametrize("order,d", [(1, 0.0), (1, 0.5), (2, 0.75), (3, 0.75), (4, 0.9)])
def test_ngram_matches_plain_python(order, d):
    rng = np.random.default_rng(order)
    V = 5
    train = rng.integers(0, V - 1, size=300)  # id 4 never occurs: unseen everywhere
    counts = {k: Counter(tuple(train[t - k + 1:t + 1]) for t in range(k - 1, len(train)))
              for k in range(1, order + 1)}
    model = NGramLM(order, d).fit(train, V)
    test = rng.integers(0, V, size=40)
    got = np.exp(model.log_likelihoods(test))
    want = [reference_prob(counts, order, V, d, list(test[max(0, t - order + 1):t]), test[t])
            for t in range(1, len(test))]
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_distributions_sum_to_one(order):
    text = load_python_docs()[:20_000]
    vocab = CharVocab.from_text(text)
    model = NGramLM(order).fit(vocab.encode(text), len(vocab))
    for context in ("", "T", "the ", "zzzq", "assert "):  # seen, short, unseen contexts
        p = model.distribution(vocab.encode(context))
        assert p.shape == (len(vocab),) and np.all(p > 0)
        assert abs(p.sum() - 1) < 1e-12


def test_unigram_without_discount_is_the_frequency():
    ids = np.array([0, 1, 1, 2, 2, 2])
    p = NGramLM(1, discount=0.0).fit(ids, 4).distribution(np.array([], dtype=np.int64))
    np.testing.assert_allclose(p, [1 / 6, 2 / 6, 3 / 6, 0])


def test_ngram_errors():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0)
    with pytest.raises(ValueError, match="discount"):
        NGramLM(2, discount=1.5)
    with pytest.raises(ValueError, match="ids must lie"):
        NGramLM(2).fit(np.array([0, 5]), 3)
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2).log_likelihoods(np.array([0, 1]))
