"""The one place that chooses Keras: tf-keras (Keras 2), which transformers' TF classes require."""
import os

from tfbig.logs import quiet_native_logs

# Must be set before TensorFlow is first imported, or tf.keras resolves to Keras 3.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
quiet_native_logs()  # before the import too: TensorFlow's C++ start-up lines come from `import tensorflow`

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras"]
