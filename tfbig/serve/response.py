"""Model outputs (numpy arrays, batch first) -> TF Serving's JSON: `predictions` (rows) or `outputs` (columns).

As in TF Serving: one output is given without its name; strings are UTF-8 text, or `{"b64": ...}` when the
output's name ends in `_bytes` or the bytes are not UTF-8.
"""
import base64

import numpy as np


def _json_value(array: np.ndarray, as_b64: bool):
    if array.dtype != object:
        return array.tolist()  # float32 -> the float64 holding the same value, exact in JSON

    def convert(v):
        if isinstance(v, list):
            return [convert(x) for x in v]
        if isinstance(v, bytes):
            if not as_b64:
                try:
                    return v.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            return {"b64": base64.b64encode(v).decode("ascii")}
        return v
    return convert(array.tolist())


def format_outputs(outputs: dict, columnar: bool) -> dict:
    """outputs: name -> (rows, ...) array for one request."""
    values = {name: _json_value(a, name.endswith("_bytes")) for name, a in outputs.items()}
    if columnar:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    rows = len(next(iter(values.values())))
    return {"predictions": [{name: v[i] for name, v in values.items()} for i in range(rows)]}
