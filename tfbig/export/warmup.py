"""TF Serving warm-up requests (`assets.extra/tf_serving_warmup_requests`), built without tensorflow-serving-api.

TF Serving replays these records when it loads a version, so the first real request does not pay for graph
optimisation and table initialisation. The file is a TFRecord of `tensorflow.serving.PredictionLog`
protos. tensorflow-serving-api is not a dependency, so the few messages needed are declared here, field
numbers as in tensorflow_serving/apis/{prediction_log,predict,model}.proto, in a private descriptor pool
(no clash if the real package is imported later).
"""
import functools
import os

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import wrappers_pb2

from tfbig._keras import tf

_F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name: str, number: int, type_, type_name: str = "", repeated: bool = False, oneof=None):
    f = msg.field.add(name=name, number=number, type=type_,
                      label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def _add_with_deps(pool, file_descriptor, added: set) -> None:
    for dep in file_descriptor.dependencies:
        _add_with_deps(pool, dep, added)
    if file_descriptor.name not in added:
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        pool.Add(proto)
        added.add(file_descriptor.name)


@functools.lru_cache(maxsize=None)
def serving_messages() -> dict:
    """Message classes {"PredictionLog", "PredictLog", "PredictRequest", "ModelSpec", "TensorProto"}."""
    from tensorflow.core.framework import tensor_pb2

    pool = descriptor_pool.DescriptorPool()
    added: set = set()
    _add_with_deps(pool, tensor_pb2.DESCRIPTOR, added)
    _add_with_deps(pool, wrappers_pb2.DESCRIPTOR, added)

    fd = descriptor_pb2.FileDescriptorProto(name="tfbig/serving_apis.proto", package="tensorflow.serving",
                                            syntax="proto3")
    fd.dependency.extend(["tensorflow/core/framework/tensor.proto", "google/protobuf/wrappers.proto"])
    spec = fd.message_type.add(name="ModelSpec")
    _field(spec, "name", 1, _F.TYPE_STRING)
    _field(spec, "version", 2, _F.TYPE_MESSAGE, ".google.protobuf.Int64Value")
    _field(spec, "signature_name", 3, _F.TYPE_STRING)

    request = fd.message_type.add(name="PredictRequest")
    entry = request.nested_type.add(name="InputsEntry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_MESSAGE, ".tensorflow.TensorProto")
    _field(request, "model_spec", 1, _F.TYPE_MESSAGE, ".tensorflow.serving.ModelSpec")
    _field(request, "inputs", 2, _F.TYPE_MESSAGE, ".tensorflow.serving.PredictRequest.InputsEntry", repeated=True)
    _field(request, "output_filter", 3, _F.TYPE_STRING, repeated=True)

    predict_log = fd.message_type.add(name="PredictLog")
    _field(predict_log, "request", 1, _F.TYPE_MESSAGE, ".tensorflow.serving.PredictRequest")

    log = fd.message_type.add(name="PredictionLog")
    log.oneof_decl.add(name="log_type")
    _field(log, "predict_log", 6, _F.TYPE_MESSAGE, ".tensorflow.serving.PredictLog", oneof=0)
    pool.Add(fd)

    names = {"PredictionLog": "tensorflow.serving.PredictionLog", "PredictLog": "tensorflow.serving.PredictLog",
             "PredictRequest": "tensorflow.serving.PredictRequest", "ModelSpec": "tensorflow.serving.ModelSpec",
             "TensorProto": "tensorflow.TensorProto"}
    return {k: message_factory.GetMessageClass(pool.FindMessageTypeByName(v)) for k, v in names.items()}


def predict_log(signature_name: str, inputs: dict, model_name: str = ""):
    """A PredictionLog holding one PredictRequest; inputs: {name: numpy array}."""
    m = serving_messages()
    record = m["PredictionLog"]()
    request = record.predict_log.request
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for name, value in inputs.items():
        request.inputs[name].ParseFromString(tf.make_tensor_proto(value).SerializeToString())
    return record


def warmup_records(texts: list, model_name: str = "", pairs: bool = False) -> list:
    """Requests for both signatures: raw text at batch 1 and at the full list; token ids at batch 1.
    pairs: the text signature takes `text` and `text_pair` (each text is paired with itself)."""
    texts = [t.encode("utf-8") if isinstance(t, str) else t for t in texts] or [b""]
    ids = np.asarray([[2, 3]], np.int32)  # any ids in vocabulary range; warm-up needs shapes, not meaning

    def text_inputs(batch):
        return {"text": np.asarray(batch, object), **({"text_pair": np.asarray(batch, object)} if pairs else {})}

    return [
        predict_log("serving_default", text_inputs(texts[:1]), model_name),
        predict_log("serving_default", text_inputs(texts), model_name),
        predict_log("predict_ids", {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                    "token_type_ids": np.zeros_like(ids)}, model_name),
    ]


def write_warmup_requests(path: str, texts: list, model_name: str = "", pairs: bool = False) -> int:
    """Writes the TFRecord file; returns the number of requests."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    records = warmup_records(texts, model_name, pairs)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return len(records)


def read_warmup_requests(path: str) -> list:
    """[(signature name, {input name: numpy array})] of each PredictionLog in the file."""
    from tensorflow.core.framework import tensor_pb2

    m = serving_messages()
    out = []
    for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
        record = m["PredictionLog"].FromString(raw)
        request = record.predict_log.request
        inputs = {}
        for name, tensor in request.inputs.items():
            inputs[name] = tf.make_ndarray(tensor_pb2.TensorProto.FromString(tensor.SerializeToString()))
        out.append((request.model_spec.signature_name, inputs))
    return out
