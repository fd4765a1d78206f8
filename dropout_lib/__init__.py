"""dropout_lib: a small, strict NumPy library for teaching dropout.

The book's chapters import it as ``import dropout_lib as dl``.

- :mod:`~dropout_lib.masks`: dropout masks (element-wise, shared along axes).
- :mod:`~dropout_lib.layers`: forward/backward pairs (dropout, DropPath,
  affine, ReLU, sigmoid, tanh).
- :mod:`~dropout_lib.noise`, :mod:`~dropout_lib.norm`,
  :mod:`~dropout_lib.conv`, :mod:`~dropout_lib.attention`: Gaussian dropout,
  batch normalisation, convolution and pooling, self-attention with
  attention dropout (chapter 5).
- :mod:`~dropout_lib.rnn`, :mod:`~dropout_lib.alpha`,
  :mod:`~dropout_lib.dropblock`: a recurrent layer with locked and fresh
  masks, SELU with alpha dropout, DropBlock for feature maps (chapter 6).
- :mod:`~dropout_lib.gradcheck`: centred-difference gradients.
- :mod:`~dropout_lib.net`: the MLP, with dropout after any layer;
  :mod:`~dropout_lib.losses` and :mod:`~dropout_lib.optim` go with it.
- :mod:`~dropout_lib.training`: :func:`fit`, :func:`evaluate` and History.
- :mod:`~dropout_lib.data`: the digits (shipped, offline) and synthetic data.
- :mod:`~dropout_lib.experiments`: seeded runs, sweeps and the chapters'
  cached experiments.
- :mod:`~dropout_lib.analysis`: measurements on trained networks (the
  ensemble view, co-adaptation).
- :mod:`~dropout_lib.plotting`: the book's figure style (needs matplotlib;
  import it explicitly).

Every random draw comes from an explicit ``numpy.random.Generator``; no
function changes its inputs; ``p_drop`` is always the probability of
*dropping* a unit.
"""
# plotting (matplotlib) is not imported here: `import dropout_lib` needs only NumPy.
from . import (
               alpha,
               analysis,
               attention,
               conv,
               data,
               dropblock,
               experiments,
               gradcheck,
               layers,
               losses,
               masks,
               net,
               noise,
               norm,
               optim,
               rnn,
               training,
)
from .attention import self_attention_backward, self_attention_forward
from .conv import avg_pool2x2_backward, avg_pool2x2_forward, conv2d_backward, conv2d_forward
from .data import Splits, digits_splits, load_digits, load_mnist, mnist_splits
from .experiments import Config, run, run_seeds, summarize
from .gradcheck import numerical_gradient, rel_error
from .layers import (
               DropoutCache,
               affine_backward,
               affine_forward,
               drop_path_backward,
               drop_path_forward,
               dropout_backward,
               dropout_forward,
               relu_backward,
               relu_forward,
               sigmoid_backward,
               sigmoid_forward,
               tanh_backward,
               tanh_forward,
)
from .losses import mean_squared_error, softmax_cross_entropy
from .masks import bernoulli_mask, keep_probability, mask_shape
from .net import MLP
from .noise import gaussian_dropout_backward, gaussian_dropout_forward
from .norm import BatchNormState, batchnorm_backward, batchnorm_forward, batchnorm_state
from .optim import SGD, Adam
from .training import EarlyStopping, History, evaluate, fit

__version__ = "0.2.0"

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "BatchNormState",
    "Config",
    "DropoutCache",
    "EarlyStopping",
    "History",
    "Splits",
    "affine_backward",
    "affine_forward",
    "alpha",
    "analysis",
    "attention",
    "avg_pool2x2_backward",
    "avg_pool2x2_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "batchnorm_state",
    "bernoulli_mask",
    "conv",
    "conv2d_backward",
    "conv2d_forward",
    "data",
    "digits_splits",
    "dropblock",
    "drop_path_backward",
    "drop_path_forward",
    "dropout_backward",
    "dropout_forward",
    "evaluate",
    "experiments",
    "fit",
    "gaussian_dropout_backward",
    "gaussian_dropout_forward",
    "gradcheck",
    "keep_probability",
    "layers",
    "load_digits",
    "load_mnist",
    "losses",
    "mask_shape",
    "masks",
    "mnist_splits",
    "mean_squared_error",
    "net",
    "noise",
    "norm",
    "numerical_gradient",
    "optim",
    "rel_error",
    "rnn",
    "relu_backward",
    "relu_forward",
    "run",
    "run_seeds",
    "self_attention_backward",
    "self_attention_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_cross_entropy",
    "summarize",
    "tanh_backward",
    "tanh_forward",
    "training",
]
