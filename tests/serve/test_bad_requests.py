"""Each bad request of issue 19's list gets a 4xx naming the problem; the server then answers a good one."""
import json

import pytest

GOOD = {"instances": ["The club won the game."]}


def _body(obj) -> bytes:
    return json.dumps(obj).encode()


BAD = [  # (path, body bytes, status, phrase the error must hold)
    ("tiny:predict", b'{"instances": ["a"', 400, "malformed JSON"),
    ("tiny:predict", _body({}), 400, "exactly one of 'instances'"),
    ("tiny:predict", _body({"instances": ["a"], "inputs": ["a"]}), 400, "not both"),
    ("tiny:predict", _body({"instances": [1, 2]}), 400, "input 'text' takes strings, got an integer"),
    ("tiny:predict", _body({"instances": "a text"}), 400, "'instances' must be a list"),
    ("tiny:predict", _body([1]), 400, "must be a JSON object"),
    ("nope:predict", _body(GOOD), 404, "model 'nope' not found"),
    ("tiny/versions/9:predict", _body(GOOD), 404, "version 9 is not available"),
    ("tiny:predict", _body({"instances": []}), 400, "empty list"),
    ("tiny:predict", _body({"inputs": {"text": []}}), 400, "holds no rows"),
    ("tiny:predict", b'{"instances": ["ab\xff\xfe"]}', 400, "not valid UTF-8 (byte 18)"),
    ("tiny:predict", _body({"instances": ["x" * 100_000]}), 400, "100000 characters is over the limit of 20000"),
    ("tiny:predict", b'{"instances": ["\\ud800"]}', 400, "not valid Unicode"),
    ("tiny:predict", _body({"instances": [{"b64": "!!"}]}), 400, "invalid base64"),
    ("tiny:predict", _body({"signature_name": "nope", "instances": ["a"]}), 400, "signature 'nope' not found"),
    ("tiny:predict", _body({"instances": ["a"] * 65}), 413, "65 rows, over the limit of 64"),
    ("tiny:predict", _body({"instances": ["a"], "extra": 1}), 400, "unknown field 'extra'"),
    ("tiny:predict", _body({"instances": [["a"]]}), 400, "has shape ['row', 1], the signature takes ['batch']"),
    ("tiny:predict", _body({"signature_name": "predict_ids", "inputs": {
        "input_ids": [[2, 3], [2]], "attention_mask": [[1, 1], [1]], "token_type_ids": [[0, 0], [0]]}}),
     400, "ragged lists"),
    ("tiny:predict", _body({"signature_name": "predict_ids", "instances": [{"input_ids": [2, 3]}]}),
     400, "missing input "),
    ("tiny:predict", _body({"signature_name": "predict_ids", "instances": [
        {"input_ids": [2, 3.5], "attention_mask": [1, 1], "token_type_ids": [0, 0]}]}), 400, "takes int values (int32)"),
    ("tiny:predict", _body({"signature_name": "predict_ids", "instances": [
        {"input_ids": [2, 2 ** 40], "attention_mask": [1, 1], "token_type_ids": [0, 0]}]}), 400, "out of range"),
    ("tiny:classify", _body(GOOD), 400, "':classify' is not served"),
    ("tiny", _body(GOOD), 404, "POST needs ':predict'"),
]


@pytest.mark.parametrize("path,body,status,phrase", BAD, ids=[b[3][:30] for b in BAD])
def test_bad_request_then_a_good_one(server, path, body, status, phrase):
    code, answer, _ = server.request("POST", f"/v1/models/{path}", body)
    assert code == status and phrase in answer["error"], answer
    code, answer, _ = server.predict(GOOD)
    assert code == 200 and len(answer["predictions"]) == 1


def test_20_mb_body_is_refused_with_413(server):
    body = _body({"instances": ["x" * 1000] * 20_000})  # 20 MB; the server's limit is 1 MiB
    code, answer, _ = server.request("POST", "/v1/models/tiny:predict", body)
    assert code == 413 and "over the limit of 1048576 bytes" in answer["error"]
    # The same without Content-Length (chunked): aiohttp stops reading at the limit.
    code, answer, _ = server.request("POST", "/v1/models/tiny:predict", iter([body[i:i + 65536] for i in
                                                                               range(0, len(body), 65536)]),
                                     chunked=True)
    assert code == 413 and "over the limit" in answer["error"]
    assert server.predict(GOOD)[0] == 200


def test_wrong_method_unknown_path_and_no_trace(server):
    code, answer, _ = server.request("GET", "/v1/models/tiny:predict")
    assert code == 405 and ":predict takes POST" in answer["error"]
    code, answer, _ = server.request("GET", "/v1/nothing")
    assert code == 404 and "no such endpoint: GET /v1/nothing" in answer["error"]
    code, answer, _ = server.request("DELETE", "/metrics")
    assert code == 405 and "error" in answer
    assert "Traceback" not in server.log()
