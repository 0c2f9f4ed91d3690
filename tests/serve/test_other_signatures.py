"""The server reads inputs and outputs from the signature: a non-classifier SavedModel is served too."""
import base64


def test_float_and_string_inputs_three_outputs(server):
    instances = [{"x": [1.0, 2.0, 0.5], "tag": "a"}, {"x": [-1, -2, 0], "tag": {"b64": base64.b64encode(b"\x00b").decode()}}]
    code, body, _ = server.predict({"instances": instances}, model="other")
    assert code == 200, body
    assert body["predictions"] == [
        {"score": 3.5, "positive": True, "tag_bytes": {"b64": base64.b64encode(b"a\xff").decode()}},
        {"score": -3.0, "positive": False, "tag_bytes": {"b64": base64.b64encode(b"\x00b\xff").decode()}}]
    code, body, _ = server.predict({"inputs": {"x": [[0.25, 0.25, 0.25]], "tag": ["c"]}}, model="other")
    assert code == 200 and body["outputs"]["score"] == [0.75] and body["outputs"]["positive"] == [True]


def test_single_output_signature_omits_the_name(server):
    code, body, _ = server.predict({"signature_name": "double", "instances": [1, 2, 2 ** 40]}, model="other")
    assert code == 200 and body == {"predictions": [2, 4, 2 ** 41]}
    code, body, _ = server.predict({"signature_name": "double", "inputs": [3]}, model="other")
    assert code == 200 and body == {"outputs": [6]}


def test_shape_and_type_errors_come_from_the_signature(server):
    code, body, _ = server.predict({"instances": [{"x": [1.0, 2.0], "tag": "a"}]}, model="other")
    assert code == 400 and "input 'x' has shape ['row', 2], the signature takes ['batch', 3]" in body["error"]
    code, body, _ = server.predict({"instances": [{"x": [1.0, 2.0, "3"], "tag": "a"}]}, model="other")
    assert code == 400 and "input 'x' takes float values (float32), got a string" in body["error"]
    code, body, _ = server.predict({"instances": [[1.0, 2.0, 3.0]]}, model="other")
    assert code == 400 and "takes several inputs (tag, x)" in body["error"]
    code, body, _ = server.request("GET", "/v1/models/other/metadata")
    assert set(body["metadata"]["signature_def"]["signature_def"]) == {"serving_default", "double"}
