"""dlbook.metrics: evaluating models, from scratch in NumPy.

Classification (:mod:`~dlbook.metrics.classification`), scores and curves
(:mod:`~dlbook.metrics.curves`), regression (:mod:`~dlbook.metrics.regression`) and data
splits (:mod:`~dlbook.metrics.splits`). Names, arguments and edge cases follow
``sklearn.metrics``, the independent reference of the tests; nothing here imports
scikit-learn or torch.
"""
from dlbook.metrics._validation import UndefinedMetricWarning
from dlbook.metrics.classification import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from dlbook.metrics.curves import (
    average_precision_score,
    calibration_curve,
    expected_calibration_error,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from dlbook.metrics.regression import mean_absolute_error, mean_squared_error, r2_score
from dlbook.metrics.splits import kfold_indices, stratified_kfold_indices, train_val_test_split

__all__ = ["UndefinedMetricWarning", "accuracy_score", "confusion_matrix", "f1_score",
           "log_loss", "precision_recall_fscore_support", "precision_score", "recall_score"]
__all__ += ["average_precision_score", "calibration_curve", "expected_calibration_error",
            "precision_recall_curve", "roc_auc_score", "roc_curve"]
__all__ += ["mean_absolute_error", "mean_squared_error", "r2_score"]
__all__ += ["kfold_indices", "stratified_kfold_indices", "train_val_test_split"]
