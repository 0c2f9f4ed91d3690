"""SignatureSpec: a loaded signature's input and output names, dtypes and shapes, read from the function.

Nothing here knows about classification: a task's export decides its signatures, the server reads them.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorInfo:
    name: str
    kind: str  # "string", "int", "float" or "bool": which JSON values are accepted
    dtype: object  # numpy dtype (object for strings)
    tf_dtype: object  # tf.DType
    shape: tuple  # ints or None; shape[0] is the batch dimension


def _kind(tf_dtype) -> str:
    if tf_dtype.name == "string":
        return "string"
    if tf_dtype.is_bool:
        return "bool"
    if tf_dtype.is_integer:
        return "int"
    if tf_dtype.is_floating:
        return "float"
    raise ValueError(f"dtype {tf_dtype.name} is not supported over JSON")


def _info(name: str, spec) -> TensorInfo:
    shape = tuple(spec.shape.as_list()) if spec.shape.rank is not None else (None,)
    dtype = object if spec.dtype.name == "string" else np.dtype(spec.dtype.as_numpy_dtype)
    return TensorInfo(name, _kind(spec.dtype), dtype, spec.dtype, shape)


@dataclass(frozen=True)
class SignatureSpec:
    name: str
    inputs: dict  # name -> TensorInfo, by name
    outputs: dict  # name -> TensorInfo, by name

    @classmethod
    def from_function(cls, name: str, fn) -> "SignatureSpec":
        """fn: a ConcreteFunction from `loaded.signatures` (keyword inputs, a dict of outputs)."""
        args, kwargs = fn.structured_input_signature
        if args:
            raise ValueError(f"signature {name} takes positional inputs; serving needs named ones")
        outputs = fn.structured_outputs
        if not isinstance(outputs, dict):
            raise ValueError(f"signature {name} does not return a dict of named outputs")
        # Sorted by name: the loaded function's own order is not stable between loads, messages should be.
        return cls(name, {k: _info(k, kwargs[k]) for k in sorted(kwargs)},
                   {k: _info(k, outputs[k]) for k in sorted(outputs)})

    def dummy_inputs(self) -> dict:
        """One row of empty strings / zeros per input, unknown dimensions 1: what a version is checked with."""
        out = {}
        for info in self.inputs.values():
            shape = (1,) + tuple(1 if d is None else d for d in info.shape[1:])
            out[info.name] = np.full(shape, b"", dtype=object) if info.kind == "string" else np.zeros(shape, info.dtype)
        return out
