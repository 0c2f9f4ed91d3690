"""The ops an exported graph uses, and which of them plain TensorFlow (and so stock TF Serving) lacks."""
import os

from tfbig.errors import UserError


def list_ops(export_dir: str) -> dict:
    """{op type: number of nodes} over the SavedModel's graph and all its functions."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(export_dir, "saved_model.pb")
    if not os.path.isfile(path):
        raise UserError(f"{export_dir}: no saved_model.pb")
    sm = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        sm.ParseFromString(f.read())
    counts: dict = {}
    for meta_graph in sm.meta_graphs:
        nodes = list(meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            nodes.extend(function.node_def)
        for node in nodes:
            counts[node.op] = counts.get(node.op, 0) + 1
    return dict(sorted(counts.items()))


def non_core_ops(ops) -> list:
    """The op types that core TensorFlow does not define (tensorflow-text's, for instance).

    `tf.raw_ops` lists exactly the ops compiled into TensorFlow itself; ops loaded from another library
    (`import tensorflow_text`) are registered but get no entry there.
    """
    from tfbig._keras import tf

    return sorted(op for op in ops if not hasattr(tf.raw_ops, op))
