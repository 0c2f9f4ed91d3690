"""A predict request's JSON body -> one numpy array per signature input, as TF Serving's REST API reads it.

Row format: `{"instances": [v, ...]}` where each v is the value of the only input, or an object
`{input: value}`; columnar: `{"inputs": value}` or `{"inputs": {input: value}}`. Strings may be given as
`{"b64": "..."}` (bytes). Every check raises ApiError naming the field and what was wrong.
"""
import base64
import binascii
import json
from dataclasses import dataclass

import numpy as np

from tfbig.serve.api_error import ApiError

DEFAULT_SIGNATURE = "serving_default"


@dataclass
class PredictRequest:
    signature_name: str
    inputs: dict  # input name -> np.ndarray, (rows, ...)
    rows: int
    columnar: bool  # answer with "outputs" (True) or "predictions" (False)


def decode_json(body: bytes):
    """The body as a JSON value; 400 for bytes that are not UTF-8 or text that is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, f"request body is not valid UTF-8 (byte {e.start})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ApiError(400, "request JSON is nested too deeply") from None
    except json.JSONDecodeError as e:
        raise ApiError(400, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _leaf(value, info, where: str, max_text_chars: int):
    if info.kind == "string":
        if _is_b64(value):
            if not isinstance(value["b64"], str):
                raise ApiError(400, f"{where}: b64 value must be a string")
            try:
                data = base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(400, f"{where}: invalid base64") from None
            if len(data) > max_text_chars:
                raise ApiError(400, f"{where}: {len(data)} bytes is over the limit of {max_text_chars}")
            return data
        if not isinstance(value, str):
            raise ApiError(400, f"{where}: input '{info.name}' takes strings, got {_type_name(value)}")
        if len(value) > max_text_chars:
            raise ApiError(400, f"{where}: text of {len(value)} characters is over the limit of {max_text_chars}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, f"{where}: text is not valid Unicode (a lone surrogate escape)") from None
    ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool)}[info.kind]
    if not ok(value):
        raise ApiError(400, f"{where}: input '{info.name}' takes {info.kind} values "
                            f"({info.tf_dtype.name}), got {_type_name(value)}")
    if info.kind == "int":
        bounds = np.iinfo(info.dtype)
        if not bounds.min <= value <= bounds.max:
            raise ApiError(400, f"{where}: {value} is out of range for {info.tf_dtype.name}")
    return value


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _nested(value, info, where: str, max_text_chars: int, depth: int):
    """(converted nested lists, shape): a rectangular list of leaves, checked as it is walked."""
    if isinstance(value, list):
        if depth > 32:
            raise ApiError(400, f"{where}: lists nested too deeply")
        parts = [_nested(v, info, f"{where}[{i}]", max_text_chars, depth + 1) for i, v in enumerate(value)]
        shapes = {p[1] for p in parts}
        if len(shapes) > 1:
            raise ApiError(400, f"{where}: ragged lists (rows of shapes {sorted(shapes)}); every row needs one shape")
        return [p[0] for p in parts], (len(value),) + (shapes.pop() if shapes else ())
    return _leaf(value, info, where, max_text_chars), ()


def to_array(value, info, where: str, max_text_chars: int, batched: bool) -> np.ndarray:
    """value: JSON for one input. batched: True when it holds the batch dimension (columnar format)."""
    nested, shape = _nested(value, info, where, max_text_chars, 0)
    want = info.shape if batched else info.shape[1:]
    if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape)):
        shown = ["batch"] + ["?" if d is None else d for d in info.shape[1:]]
        got = list(shape) if batched else ["row"] + list(shape)
        raise ApiError(400, f"{where}: input '{info.name}' has shape {got}, the signature takes {shown}")
    return np.array(nested, dtype=info.dtype).reshape(shape)


def _check_names(given: dict, spec, where: str) -> None:
    """A 400 naming the first input `given` has that the signature does not take, or those it lacks."""
    names = list(spec.inputs)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ApiError(400, f"{where}: unknown input '{unknown[0]}'; signature '{spec.name}' takes {', '.join(names)}")
    missing = [n for n in names if n not in given]
    if missing:
        raise ApiError(400, f"{where}: missing input {', '.join(map(repr, missing))}")


def _rows_inputs(instances, spec, max_text_chars: int) -> dict:
    names = list(spec.inputs)
    columns = {n: [] for n in names}
    for i, inst in enumerate(instances):
        if isinstance(inst, dict) and not _is_b64(inst):
            _check_names(inst, spec, f"instances[{i}]")
            for n in names:
                columns[n].append(inst[n])
        elif len(names) == 1:
            columns[names[0]].append(inst)
        else:
            raise ApiError(400, f"instances[{i}]: signature '{spec.name}' takes several inputs "
                                f"({', '.join(names)}); give each instance as an object")
    return {n: np.stack([to_array(v, spec.inputs[n], f"instances[{i}].{n}", max_text_chars, batched=False)
                         for i, v in enumerate(col)]) for n, col in columns.items()}


def _columnar_inputs(inputs, spec, max_text_chars: int) -> dict:
    names = list(spec.inputs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        _check_names(inputs, spec, "inputs")
        values = inputs
    elif len(names) == 1:
        values = {names[0]: inputs}
    else:
        raise ApiError(400, f"inputs: signature '{spec.name}' takes several inputs ({', '.join(names)}); "
                            "give an object of them")
    arrays = {n: to_array(values[n], spec.inputs[n], f"inputs.{n}", max_text_chars, batched=True) for n in names}
    rows = {a.shape[0] for a in arrays.values()}
    if len(rows) > 1:
        raise ApiError(400, f"inputs: the inputs have different batch sizes {sorted(rows)}")
    return arrays


def parse_predict(body, signatures: dict, max_rows: int, max_text_chars: int) -> PredictRequest:
    """body: the decoded JSON. signatures: name -> SignatureSpec of the version that will answer."""
    if not isinstance(body, dict):
        raise ApiError(400, f"request body must be a JSON object, got {_type_name(body)}")
    unknown = sorted(set(body) - {"signature_name", "instances", "inputs"})
    if unknown:
        raise ApiError(400, f"unknown field '{unknown[0]}' (a predict request has signature_name and "
                            "instances or inputs)")
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise ApiError(400, f"signature_name must be a string, got {_type_name(name)}")
    if name not in signatures:
        raise ApiError(400, f"signature '{name}' not found; the model has {', '.join(sorted(signatures))}")
    spec = signatures[name]
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows == has_cols:
        raise ApiError(400, "give exactly one of 'instances' (row format) and 'inputs' (columnar format)"
                       if not has_rows else "give 'instances' or 'inputs', not both")
    if has_rows:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise ApiError(400, f"'instances' must be a list, got {_type_name(instances)}")
        if not instances:
            raise ApiError(400, "'instances' is an empty list")
        if len(instances) > max_rows:
            raise ApiError(413, f"'instances' has {len(instances)} rows, over the limit of {max_rows}")
        arrays = _rows_inputs(instances, spec, max_text_chars)
    else:
        if isinstance(body["inputs"], list) and len(body["inputs"]) > max_rows:
            raise ApiError(413, f"'inputs' has {len(body['inputs'])} rows, over the limit of {max_rows}")
        arrays = _columnar_inputs(body["inputs"], spec, max_text_chars)
    rows = next(iter(arrays.values())).shape[0] if arrays else 0
    if rows == 0:
        raise ApiError(400, f"'{'instances' if has_rows else 'inputs'}' holds no rows")
    if rows > max_rows:
        raise ApiError(413, f"the request has {rows} rows, over the limit of {max_rows}")
    return PredictRequest(name, arrays, rows, columnar=has_cols)
