"""dropout_lib: a small, strict NumPy library for teaching dropout.

The book's chapters import it as ``import dropout_lib as dl``.

- :mod:`dropout_lib.masks`: drawing dropout masks (element-wise, shared along axes).
- :mod:`dropout_lib.layers`: forward/backward pairs (dropout, affine, ReLU, sigmoid, tanh).
- :mod:`dropout_lib.gradcheck`: centred-difference gradients and relative errors.
- :mod:`dropout_lib.nets`, :mod:`dropout_lib.losses`, :mod:`dropout_lib.optim`: an MLP with
  dropout after any layer, its losses and optimizers.
- :mod:`dropout_lib.train`: the training loop (``dropout_lib.train.train``) and its History.
- :mod:`dropout_lib.data`: the digits (shipped, offline) and synthetic data sets.
- :mod:`dropout_lib.experiments`: multi-seed runs and sweeps.
- :mod:`dropout_lib.coadaptation`: knock-out and co-adaptation measurements.
- :mod:`dropout_lib.ensembles`: subnetwork enumeration, NWGM, weight scaling, MC averaging.
- :mod:`dropout_lib.plotting`: the book's figure style and mask images (needs matplotlib;
  import it explicitly).

Every random draw comes from an explicit ``numpy.random.Generator``; no function changes
its inputs; ``p_drop`` is always the probability of *dropping* a unit.
"""
# plotting (matplotlib) is not imported here: `import dropout_lib` needs only NumPy.
from . import coadaptation, data, ensembles, experiments, gradcheck, layers, losses, masks, nets, optim, train
from .data import Splits, digits_splits, load_digits
from .experiments import Config, run_seeds, summarize
from .gradcheck import numerical_gradient, rel_error
from .layers import (
    DropoutCache,
    affine_backward,
    affine_forward,
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
from .nets import MLP
from .optim import SGD, Adam
from .train import EarlyStopping, History

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "Config",
    "EarlyStopping",
    "History",
    "Splits",
    "coadaptation",
    "data",
    "ensembles",
    "digits_splits",
    "experiments",
    "load_digits",
    "losses",
    "mean_squared_error",
    "nets",
    "optim",
    "run_seeds",
    "softmax_cross_entropy",
    "summarize",
    "train",
    "DropoutCache",
    "affine_backward",
    "affine_forward",
    "bernoulli_mask",
    "dropout_backward",
    "dropout_forward",
    "gradcheck",
    "keep_probability",
    "layers",
    "mask_shape",
    "masks",
    "numerical_gradient",
    "rel_error",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]
