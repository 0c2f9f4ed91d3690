"""Model versions: loading and checking one version folder, and serving the newest of a model folder.

Like TF Serving's default policy, a model serves its highest integer version folder that holds a
`saved_model.pb`, and a poll of the folder picks up a newer one (the export renames a finished temporary
folder into place, so a folder that appears is complete). A new version serves only once it loaded and
answered a one-row request on every signature; a broken one is logged, reported by the status endpoint
(state END with its error) and never retried, and the old version keeps serving.
"""
import json
import logging
import os
import time

from tfbig.errors import UserError
from tfbig.serve.signature import SignatureSpec

log = logging.getLogger(__name__)


def _import_text_ops() -> bool:
    try:
        import tensorflow_text  # noqa: F401  (registers NormalizeUTF8 & co. before loading)
        return True
    except ImportError:
        return False


def signature_defs(path: str) -> dict:
    """The SignatureDefMap of saved_model.pb as TF Serving's metadata shows it (proto field names)."""
    from google.protobuf import json_format
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    defs = proto.meta_graphs[0].signature_def
    return {"signature_def": {k: json_format.MessageToDict(v, preserving_proto_field_name=True)
                              for k, v in defs.items() if not k.startswith("__")}}


class ModelVersion:
    """One loaded version folder. path: str. version: int. Blocking: load it in a thread."""

    def __init__(self, path: str, version: int):
        from tfbig._keras import tf

        self.path, self.version = path, version
        meta_path = os.path.join(path, "assets", "tfbig_export.json")
        meta = {}
        if os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
        if not _import_text_ops() and meta.get("tokenizer") == "fast":
            raise RuntimeError("the export uses tensorflow-text ops: pip install tensorflow-text")
        self._tf = tf
        self._loaded = tf.saved_model.load(path)
        self._functions = dict(self._loaded.signatures)
        if not self._functions:
            raise RuntimeError("the SavedModel has no signatures")
        self.signatures = {k: SignatureSpec.from_function(k, f) for k, f in self._functions.items()}
        self.metadata = signature_defs(path)
        for name, spec in self.signatures.items():  # checks the graph runs, and warms it up
            self.call(name, spec.dummy_inputs())

    def call(self, signature: str, inputs: dict) -> dict:
        """inputs: name -> numpy array. Returns name -> numpy array. Blocking."""
        spec = self.signatures[signature]
        feed = {n: self._tf.constant(a, dtype=spec.inputs[n].tf_dtype) for n, a in inputs.items()}
        return {k: v.numpy() for k, v in self._functions[signature](**feed).items()}


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:300]


class ServedModel:
    """The versions of one model name. root: a model folder (versions in it) or one version folder.

    Status per version, as TF Serving's GET /v1/models/NAME reports it: AVAILABLE (serving), END (unloaded
    or refused, with its error).
    """

    def __init__(self, name: str, root: str):
        if not os.path.isdir(root):
            raise UserError(f"model folder not found: {root}")
        self.name, self.root = name, root
        self.fixed = os.path.isfile(os.path.join(root, "saved_model.pb"))  # a version folder: no pick-up
        self.current = None  # ModelVersion
        self.status = {}  # version -> (state, error message)
        if not self.fixed and not self.available_versions():
            raise UserError(f"{root}: no SavedModel and no version folder (1/, 2/, ...) holding one")

    def available_versions(self) -> list:
        if self.fixed:
            base = os.path.basename(os.path.normpath(self.root))
            return [int(base) if base.isdigit() else 1]
        return sorted(int(n) for n in os.listdir(self.root)
                      if n.isdigit() and os.path.isfile(os.path.join(self.root, n, "saved_model.pb")))

    def _path(self, version: int) -> str:
        return self.root if self.fixed else os.path.join(self.root, str(version))

    def try_load(self, version: int):
        """Loads and checks `version`; a ModelVersion, or None (refused, logged, status END). Blocking."""
        started = time.monotonic()
        try:
            mv = ModelVersion(self._path(version), version)
        except Exception as e:  # noqa: BLE001  (any failure refuses the version)
            self.status[version] = ("END", _first_line(e))
            log.error("model %s version %d refused: %s", self.name, version, _first_line(e))
            return None
        log.info("model %s version %d loaded in %.1fs", self.name, version, time.monotonic() - started)
        return mv

    def load_initial(self) -> None:
        """The highest version that loads (older ones tried when newer are broken). Blocking."""
        for v in reversed(self.available_versions()):
            mv = self.try_load(v)
            if mv is not None:
                self.activate(mv)
                return
        errors = "; ".join(f"{v}: {e}" for v, (_, e) in sorted(self.status.items()))
        raise UserError(f"model {self.name} ({self.root}): no version loads ({errors})")

    def activate(self, mv) -> "ModelVersion | None":
        """Serves `mv` from now on; returns the version it replaces."""
        old, self.current = self.current, mv
        self.status[mv.version] = ("AVAILABLE", "")
        if old is not None:
            self.status[old.version] = ("END", "")
            log.info("model %s: version %d replaces %d", self.name, mv.version, old.version)
        return old

    def newer_version(self):
        """The highest version above the one serving, not refused before; None if there is none."""
        if self.fixed or self.current is None:
            return None
        try:
            versions = self.available_versions()
        except OSError as e:
            log.warning("model %s: cannot list %s: %s", self.name, self.root, e)
            return None
        fresh = [v for v in versions if v > self.current.version and v not in self.status]
        return max(fresh) if fresh else None

    def status_json(self, version: int | None = None) -> dict:
        items = sorted(self.status.items(), reverse=True)
        if version is not None:
            items = [(v, s) for v, s in items if v == version]
        return {"model_version_status": [
            {"version": str(v), "state": state,
             "status": {"error_code": "OK" if not err else "UNKNOWN", "error_message": err}}
            for v, (state, err) in items]}
