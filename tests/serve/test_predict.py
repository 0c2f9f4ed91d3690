"""Predict over HTTP equals the in-process signature: rows, columns, b64, token ids, both tokenizers."""
import base64
import time

import numpy as np

from serve_helpers import TEXTS
from tfbig._keras import tf


def _reference(signatures, texts):
    return {k: v.numpy() for k, v in signatures["serving_default"](text=tf.constant(texts)).items()}


def test_rows_and_columns_equal_the_signature(server, signatures):
    ref = _reference(signatures, TEXTS)
    status, body, headers = server.predict({"instances": TEXTS})
    assert status == 200 and headers["X-Tfbig-Model-Version"] == "1"
    rows = body["predictions"]
    assert len(rows) == len(TEXTS) and set(rows[0]) == {"probabilities", "label_id", "label"}
    np.testing.assert_allclose([r["probabilities"] for r in rows], ref["probabilities"], atol=1e-5, rtol=0)
    assert [r["label"] for r in rows] == [x.decode() for x in ref["label"]]
    assert [r["label_id"] for r in rows] == ref["label_id"].tolist()

    status, body, _ = server.predict({"signature_name": "serving_default", "inputs": {"text": TEXTS}})
    assert status == 200
    np.testing.assert_allclose(body["outputs"]["probabilities"], ref["probabilities"], atol=1e-5, rtol=0)
    status, body2, _ = server.predict({"inputs": TEXTS})  # one input: its name may be left out
    assert status == 200 and body2 == body


def test_b64_strings_and_named_instances(server, signatures):
    ref = _reference(signatures, TEXTS[:2])
    encoded = [{"b64": base64.b64encode(t.encode()).decode()} for t in TEXTS[:2]]
    for instances in (encoded, [{"text": e} for e in encoded], [{"text": t} for t in TEXTS[:2]]):
        status, body, _ = server.predict({"instances": instances})
        assert status == 200, body
        np.testing.assert_allclose([r["probabilities"] for r in body["predictions"]], ref["probabilities"],
                                   atol=1e-5, rtol=0)


def test_token_id_signature_rows_and_columns(server, signatures):
    ids = {"input_ids": [[2, 7, 9, 3], [2, 11, 3, 0]], "attention_mask": [[1, 1, 1, 1], [1, 1, 1, 0]],
           "token_type_ids": [[0, 0, 0, 0], [0, 0, 0, 0]]}
    ref = signatures["predict_ids"](**{k: tf.constant(v, tf.int32) for k, v in ids.items()})
    instances = [{k: v[i] for k, v in ids.items()} for i in range(2)]
    status, body, _ = server.predict({"signature_name": "predict_ids", "instances": instances})
    assert status == 200, body
    np.testing.assert_allclose([r["probabilities"] for r in body["predictions"]], ref["probabilities"].numpy(),
                               atol=1e-5, rtol=0)
    status, body, _ = server.predict({"signature_name": "predict_ids", "inputs": ids})
    assert status == 200
    assert body["outputs"]["label_id"] == ref["label_id"].numpy().tolist()


def test_core_tokenizer_export_answers_the_same(server, signatures):
    ref = _reference(signatures, TEXTS)
    status, body, _ = server.predict({"instances": TEXTS}, model="tiny_core")
    assert status == 200
    np.testing.assert_allclose([r["probabilities"] for r in body["predictions"]], ref["probabilities"],
                               atol=1e-5, rtol=0)


def test_status_metadata_health_and_access_log(server):
    status, body, _ = server.request("GET", "/v1/models/tiny")
    assert status == 200 and body == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    assert server.request("GET", "/v1/models/tiny/versions/1")[0] == 200
    status, body, _ = server.request("GET", "/v1/models/tiny/metadata")
    assert status == 200 and body["model_spec"] == {"name": "tiny", "signature_name": "", "version": "1"}
    defs = body["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {"serving_default", "predict_ids"}
    assert defs["serving_default"]["inputs"]["text"]["dtype"] == "DT_STRING"
    assert defs["predict_ids"]["outputs"]["probabilities"]["dtype"] == "DT_FLOAT"
    assert server.request("GET", "/v2/health/live")[:2] == (200, {"live": True})
    assert server.request("GET", "/v2/health/ready")[:2] == (200, {"ready": True})
    assert server.predict({"instances": TEXTS[:3]})[0] == 200
    for _ in range(50):  # the access line is written once the answer is sent: it may come a moment later
        if "POST /v1/models/tiny:predict 200 rows=3 " in server.log():
            break
        time.sleep(0.1)
    assert "POST /v1/models/tiny:predict 200 rows=3 " in server.log()
    assert 'tfbig_serve_requests_total{code="200",endpoint="predict"}' in server.metrics()
