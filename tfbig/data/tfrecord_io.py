"""TFRecord files written without TensorFlow: length, masked CRC-32C of the length, data, masked CRC-32C.

Spark executors use it to write shards; importing TensorFlow in every Python worker would cost seconds and
hundreds of MB each. Local paths are written with plain files (temporary name, then rename, so a retried
task never leaves half a shard); other URLs (gs://, hdfs://, s3:// with tensorflow-io) go through
tf.io.gfile, imported only then.
"""
import os
import struct
import uuid

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected


def _table() -> list:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c_python(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast_crc32c():
    """A compiled CRC-32C where one is installed (google-crc32c or crc32c), else None."""
    try:
        import google_crc32c

        if google_crc32c.implementation == "c":
            return google_crc32c.value
    except ImportError:
        pass
    try:
        import crc32c

        return crc32c.crc32c
    except ImportError:
        return None


crc32c = _fast_crc32c() or crc32c_python


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    """One record as it lies in a TFRecord file (no compression)."""
    length = struct.pack("<Q", len(record))
    return length + struct.pack("<I", masked_crc(length)) + record + struct.pack("<I", masked_crc(record))


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def local_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def makedirs(path: str) -> None:
    if is_local(path):
        os.makedirs(local_path(path), exist_ok=True)
    else:
        from tfbig._keras import tf

        tf.io.gfile.makedirs(path)


class TFRecordFileWriter:
    """Writes framed records to `path`; the file appears under its name only when close() succeeds.

    >>> with TFRecordFileWriter("/tmp/x.tfrecord") as w:
    ...     w.write(encode_example("some text", "sport"))
    """

    def __init__(self, path: str):
        self.path = path
        folder, name = os.path.split(path)
        self._tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{name}")
        if is_local(path):
            self._file = open(local_path(self._tmp), "wb")
        else:
            from tfbig._keras import tf

            self._file = tf.io.gfile.GFile(self._tmp, "wb")
        self.count = 0

    def write(self, record: bytes) -> None:
        self._file.write(frame(record))
        self.count += 1

    def close(self) -> None:
        self._file.close()
        if is_local(self.path):
            os.replace(local_path(self._tmp), local_path(self.path))
        else:
            from tfbig._keras import tf

            tf.io.gfile.rename(self._tmp, self.path, overwrite=True)

    def abort(self) -> None:
        self._file.close()
        if is_local(self.path) and os.path.exists(local_path(self._tmp)):
            os.unlink(local_path(self._tmp))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()
