"""EarlyStopping: the stopping rule, min_delta, both modes, restoring the best weights of a
dlbook and of a torch model."""
from __future__ import annotations

import numpy as np
import pytest

from dlbook import nn
from dlbook.callbacks import EarlyStopping


def run(values, **kwargs):
    """The epoch at which EarlyStopping stops on ``values`` (None if it never does)."""
    stopper = EarlyStopping(**kwargs)
    for value in values:
        if stopper.step(value):
            break
    return stopper


def test_stops_after_patience_epochs_without_improvement():
    s = run([5, 4, 3, 3.5, 3.2, 3.1, 2.0], patience=3)
    assert (s.best, s.best_epoch, s.stopped_epoch, s.should_stop) == (3, 2, 5, True)
    assert not run([5, 4, 3, 3.5, 2.9, 3.1, 3.2], patience=3).should_stop  # reset by 2.9


def test_patience_zero_stops_at_the_first_bad_epoch():
    assert run([3, 2, 2.5, 1], patience=0).stopped_epoch == 2


def test_min_delta_ignores_small_improvements():
    s = run([1.0, 0.99, 0.98, 0.97, 0.5], patience=3, min_delta=0.05)
    assert (s.best, s.stopped_epoch) == (1.0, 3)


def test_mode_max_for_accuracies():
    s = run([0.5, 0.7, 0.69, 0.7, 0.71], patience=2, mode="max")
    assert (s.best, s.best_epoch, s.stopped_epoch) == (0.7, 1, 3)


def _set_weight(model, value):
    model[0].weight.data = np.full_like(model[0].weight.data, value)


def test_restores_the_best_state_dict_of_a_dlbook_model():
    model = nn.Sequential(nn.Linear(3, 2))
    stopper = EarlyStopping(patience=2)
    for epoch, loss in enumerate([3.0, 1.0, 2.0, 2.5]):
        _set_weight(model, epoch)  # the "training" of this epoch
        if stopper.step(loss, model):
            break
    assert stopper.stopped_epoch == 3
    np.testing.assert_array_equal(model[0].weight.data, np.full((2, 3), 1.0))
    _set_weight(model, 7.0)  # the saved copy is not a view of the live weights
    stopper.restore(model)
    np.testing.assert_array_equal(model[0].weight.data, np.full((2, 3), 1.0))


def test_restore_best_false_keeps_the_last_weights():
    model = nn.Sequential(nn.Linear(3, 2))
    stopper = EarlyStopping(patience=1, restore_best=False)
    for epoch, loss in enumerate([1.0, 2.0]):
        _set_weight(model, epoch)
        stopper.step(loss, model)
    np.testing.assert_array_equal(model[0].weight.data, np.full((2, 3), 1.0))


def test_restores_a_torch_model():
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        stopper.step(0.5, model)
        model.weight.fill_(2.0)  # in place: the saved copy must not follow
        assert stopper.step(0.6, model)
    assert torch.equal(model.weight, torch.ones(1, 2))


def test_clear_errors():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="NaN"):
        EarlyStopping().step(float("nan"))
    with pytest.raises(RuntimeError, match="no state saved"):
        EarlyStopping().restore(nn.Linear(1, 1))
    s = run([1.0, 2.0], patience=1)
    with pytest.raises(RuntimeError, match="said stop"):
        s.step(0.5)
