"""BERT's weight initialiser and a helper that gives every sublayer its own initialiser instance."""
from tfbig._keras import keras

# The default of every tfbig layer; never mutated (fresh_initializer copies it).
BERT_INITIALIZER = {"class_name": "TruncatedNormal", "config": {"stddev": 0.02}}


def bert_initializer(stddev: float = 0.02):
    """Truncated normal with standard deviation `stddev` (0.02 in BERT), as a fresh instance."""
    return keras.initializers.TruncatedNormal(stddev=stddev)


def fresh_initializer(spec):
    """A new initialiser built from `spec` (name, config dict or instance).

    tf-keras returns identical values when one unseeded initialiser instance is called twice, so each
    weight gets its own instance rebuilt from the serialized form.
    """
    if isinstance(spec, keras.initializers.Initializer):
        spec = keras.initializers.serialize(spec)
    if isinstance(spec, dict):
        spec = {**spec, "config": dict(spec.get("config", {}))}
    return keras.initializers.get(spec)


def serialize_initializer(spec):
    """The JSON-able form of `spec` for get_config."""
    return keras.initializers.serialize(fresh_initializer(spec))
