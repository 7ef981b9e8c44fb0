r"""Every pure function of ``dlbook.nn`` in one namespace, as ``torch.nn.functional`` is.

A module (``dlbook.nn.X``) holds parameters and a cache and calls these; each function here
keeps no state, so an exercise can ask for one and a test can check it on its own. They are
written once, in the file named below, and imported from there:

- ``activation_functional``: ``sigmoid``, ``logsigmoid``, ``softmax``, ``log_softmax``,
  ``erf`` (the activations, the losses, the recurrent layers, the models);
- ``dropout_functional``: ``keep_mask``, ``dropout_mask`` (Dropout, the recurrent layers,
  attention, masking noise);
- ``attention_functional``: ``scaled_dot_product_attention``, ``attention_forward``,
  ``attention_backward``, ``softmax_rows``, ``additive_mask``, ``causal_mask``
  (MultiheadAttention, the transformer layers);
- ``rnn_functional``: ``{rnn,lstm,lstm_proj,gru}_layer_{forward,backward}`` (RNN, LSTM, GRU
  and their cells);
- ``im2col``: ``im2col``, ``col2im``, ``conv2d_{forward,backward}``,
  ``conv_transpose2d_{forward,backward}`` (Conv2d, ConvTranspose2d);
- ``normalization``: ``normalize_forward``, ``normalize_backward`` (the normalisation layers).

NOTE: the files above never import this namespace (it imports them), so there is no import
cycle; inside ``dlbook.nn`` import from the file, outside it from here.
"""
from __future__ import annotations

from dlbook.nn.activation_functional import erf, log_softmax, logsigmoid, sigmoid, softmax
from dlbook.nn.attention_functional import (
    additive_mask,
    attention_backward,
    attention_forward,
    causal_mask,
    scaled_dot_product_attention,
    softmax_rows,
)
from dlbook.nn.dropout_functional import dropout_mask, keep_mask
from dlbook.nn.im2col import (
    col2im,
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    im2col,
)
from dlbook.nn.normalization import normalize_backward, normalize_forward
from dlbook.nn.rnn_functional import (
    gru_layer_backward,
    gru_layer_forward,
    lstm_layer_backward,
    lstm_layer_forward,
    lstm_proj_layer_backward,
    lstm_proj_layer_forward,
    rnn_layer_backward,
    rnn_layer_forward,
)

__all__ = ["erf", "log_softmax", "logsigmoid", "sigmoid", "softmax"]
__all__ += ["dropout_mask", "keep_mask"]
__all__ += ["additive_mask", "attention_backward", "attention_forward", "causal_mask",
            "scaled_dot_product_attention", "softmax_rows"]
__all__ += ["gru_layer_backward", "gru_layer_forward", "lstm_layer_backward",
            "lstm_layer_forward", "lstm_proj_layer_backward", "lstm_proj_layer_forward",
            "rnn_layer_backward", "rnn_layer_forward"]
__all__ += ["col2im", "conv2d_backward", "conv2d_forward", "conv_transpose2d_backward",
            "conv_transpose2d_forward", "im2col", "normalize_backward", "normalize_forward"]
