"""dropout_lib: a small, strict NumPy library for teaching dropout.

The book's chapters import it as ``import dropout_lib as dl``.

- :mod:`dropout_lib.masks`: drawing dropout masks (element-wise, shared along axes).
- :mod:`dropout_lib.layers`: forward/backward pairs (dropout, affine, ReLU, sigmoid, tanh).
- :mod:`dropout_lib.gradcheck`: centred-difference gradients and relative errors.
- :mod:`dropout_lib.plotting`: the book's figure style and mask images.

Every random draw comes from an explicit ``numpy.random.Generator``; no function changes
its inputs; ``p_drop`` is always the probability of *dropping* a unit.
"""
from . import gradcheck, layers, masks, plotting
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
from .masks import bernoulli_mask, keep_probability, mask_shape

__version__ = "0.1.0"

__all__ = [
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
    "plotting",
    "rel_error",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]
