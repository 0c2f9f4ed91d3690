"""Measurements of this machine kept on disk, so every process on it decides alike.

A measured decision (is bfloat16 faster than float32 here?) taken again in each process can come out
differently under a neighbour's load: two runs of one config would then train in different precisions. The
first process that measures writes the value; every later one, and any one measuring at the same time, reads
that value instead of its own.

The file is `<cache dir>/machine.json`: {key: {name: value}}. The key names the hardware and the TensorFlow
build (what the measurement depends on), so a changed machine or upgrade measures again. Cache dir:
$TFBIG_CACHE_DIR, else $XDG_CACHE_HOME/tfbig, else ~/.cache/tfbig. Delete the file to measure again.
"""
import contextlib
import hashlib
import json
import logging
import os
import platform
import tempfile

log = logging.getLogger(__name__)

FILE_NAME = "machine.json"


def cache_dir() -> str:
    if os.environ.get("TFBIG_CACHE_DIR"):
        return os.environ["TFBIG_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfbig")


def machine_key(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model and flags, the logical CPU count and the TensorFlow version, hashed to 16 hex digits."""
    from tfbig._keras import tf

    model, flags = platform.processor(), ""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    text = "|".join([platform.machine(), model, flags, str(os.cpu_count()), tf.__version__])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _publish(path: str, data: dict) -> None:
    """Writes `data` to `path` atomically (temporary file, then rename); a reader sees the old or the new file."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".machine-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def _locked(folder: str):
    """An exclusive lock on `folder`'s lock file while measuring (none where fcntl is missing: Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".machine.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def cached_measurement(name: str, measure, key: str | None = None, folder: str | None = None) -> float:
    """`name`'s value for this machine: the stored one, else `measure()` (stored for the next process).

    Processes starting together take turns (a lock file): the first measures and stores, the others read its
    value. An unwritable or corrupt cache is measured around and logged, never an error.
    """
    key = key or machine_key()
    folder = folder or cache_dir()
    path = os.path.join(folder, FILE_NAME)

    def stored() -> float | None:
        entry = _read(path).get(key)
        value = entry.get(name) if isinstance(entry, dict) else None
        return float(value) if isinstance(value, (int, float)) else None

    if (value := stored()) is not None:
        return value
    try:
        with _locked(folder):
            if (value := stored()) is not None:  # measured by a process that held the lock before this one
                return value
            value = float(measure())
            data = _read(path)
            entry = data.get(key) if isinstance(data.get(key), dict) else {}
            data[key] = {**entry, name: value}
            _publish(path, data)
            log.debug("machine cache %s: %s = %.4g measured and stored", path, name, value)
            return value
    except OSError as e:
        log.warning("machine cache %s not usable (%s): %s measured in this process only", path, e, name)
        return value if value is not None else float(measure())
