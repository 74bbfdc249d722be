"""Array-only helpers (no Tensor in here): convolution and pooling on numpy or cupy arrays.

Shape letters used throughout: N batch, H/W input height and width, C input channels,
KH/KW kernel height and width, O output channels, OH/OW output height and width,
SH/SW strides. Layouts are TensorFlow's: images NHWC, kernels HWIO (KH, KW, C, O).
"""
