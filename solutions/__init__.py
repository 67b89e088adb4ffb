"""The reference implementation of every graded function of the course (../shared/COURSE.md).

NumPy layers compute in float64 and never modify their inputs; PyTorch layers keep results on
the input's device. The book, the tests, the benchmarks and the grader all import from here.
"""

from solutions.mlp import (
    cross_entropy, dense_forward, dense_param_count, flatten_images, permute_pixels, softmax,
)
from solutions.sharing import conv_param_count, receptive_field, sharing_matrix
from solutions.conv1d import conv1d, corr1d, shift
from solutions.conv2d import conv_output_size, corr2d, pad2d
from solutions.toeplitz import conv_matrix, corr2d_backward, im2col, numerical_gradient
from solutions.pooling import (
    avgpool2d_backward, avgpool2d_forward, l2pool2d_forward, maxpool2d_backward, maxpool2d_forward,
)
from solutions.channels import conv2d_backward, conv2d_forward
from solutions.variants import (
    conv2d, conv_transpose2d, conv_transpose_output_size, depthwise_conv2d, dilate_kernel, separable_conv2d,
    separate_kernel,
)
from solutions.torch_layers import Conv2dFunction, conv2d_torch
from solutions.cnn import output_shapes, relu_backward, relu_forward, softmax_cross_entropy
from solutions.batchnorm import batchnorm2d_backward, batchnorm2d_forward
from solutions.inside import fgsm, saliency_map

__all__ = [
    "flatten_images", "dense_forward", "softmax", "cross_entropy", "permute_pixels", "dense_param_count",
    "sharing_matrix", "receptive_field", "conv_param_count",
    "corr1d", "conv1d", "shift",
    "pad2d", "corr2d", "conv_output_size",
    "conv_matrix", "im2col", "corr2d_backward", "numerical_gradient",
    "maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward", "l2pool2d_forward",
    "conv2d_forward", "conv2d_backward",
    "conv_transpose2d", "conv_transpose_output_size", "dilate_kernel", "conv2d", "depthwise_conv2d",
    "separable_conv2d", "separate_kernel",
    "conv2d_torch", "Conv2dFunction",
    "relu_forward", "relu_backward", "softmax_cross_entropy", "output_shapes", "batchnorm2d_forward",
    "batchnorm2d_backward",
    "saliency_map", "fgsm",
]
