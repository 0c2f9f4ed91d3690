"""A new version folder renamed into place is picked up with no failed request; a broken one is refused."""
import os
import shutil
import threading
import time

from serve_helpers import ServerProcess, copy_model


def _wait_for(condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_new_version_picked_up_broken_one_refused(export_root, tmp_path):
    root = copy_model(export_root, "tiny", tmp_path / "models")
    server = ServerProcess([root, "--poll-seconds", "0.2"], str(tmp_path / "server.log"))
    stop, answers = threading.Event(), []

    def load():  # keeps asking while versions change; bounded by count and by `stop`
        for _ in range(2000):
            if stop.is_set():
                return
            answers.append(server.predict({"instances": ["a text", "another"]}))

    try:
        loader = threading.Thread(target=load)
        loader.start()
        # As `tfbig export` does: write under a dot-name, then rename.
        shutil.copytree(os.path.join(root, "1"), os.path.join(root, ".tmp-2-x"))
        os.rename(os.path.join(root, ".tmp-2-x"), os.path.join(root, "2"))
        _wait_for(lambda: server.predict({"instances": ["x"]})[2]["X-Tfbig-Model-Version"] == "2")

        broken = os.path.join(root, ".tmp-3-x")
        os.makedirs(os.path.join(broken, "variables"))
        with open(os.path.join(broken, "saved_model.pb"), "wb") as f:
            f.write(b"not a SavedModel")
        os.rename(broken, os.path.join(root, "3"))
        status = _wait_for(lambda: [s for s in server.request("GET", "/v1/models/tiny")[1]["model_version_status"]
                                    if s["version"] == "3"])
        assert status[0]["state"] == "END" and status[0]["status"]["error_message"]
        time.sleep(0.5)  # a few more polls: the broken version is not retried, version 2 keeps serving
        stop.set()
        loader.join(60)
        code, body, headers = server.predict({"instances": ["x"]})
        assert code == 200 and headers["X-Tfbig-Model-Version"] == "2"
        versions = server.request("GET", "/v1/models/tiny")[1]["model_version_status"]
        assert [(s["version"], s["state"]) for s in versions] == [("3", "END"), ("2", "AVAILABLE"), ("1", "END")]
        assert server.request("GET", "/v1/models/tiny/versions/1:predict")[0] == 405
        assert server.predict({"instances": ["x"]}, model="tiny/versions/1")[0] == 404
    finally:
        stop.set()
        code = server.stop()
    assert answers and all(a[0] == 200 and len(a[1]["predictions"]) == 2 for a in answers)
    seen = [a[2]["X-Tfbig-Model-Version"] for a in answers]
    assert seen == sorted(seen) and seen[-1] == "2"  # once version 2 answers, version 1 never does again
    log = server.log()
    assert "version 3 refused" in log and log.count("version 3 refused") == 1 and code == 0
