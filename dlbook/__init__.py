"""dlbook: a deep-learning textbook library (NumPy layers that mirror torch.nn)."""

__version__ = "0.1.0"
