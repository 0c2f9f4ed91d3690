"""tfbig: fine-tune, distil, distribute and serve transformer text models with TensorFlow."""

__version__ = "0.1.0"
