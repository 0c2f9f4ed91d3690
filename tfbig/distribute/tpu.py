"""Finding and initialising a TPU, with every wait bounded: no TPU gives one clear error, never a hang."""
import glob
import importlib.util
import logging
import os
import socket
import threading
from urllib.parse import urlparse

from tfbig._keras import tf
from tfbig.errors import UserError

log = logging.getLogger(__name__)


def tpu_address(address: str = "") -> str:
    """The TPU to use: `address`, else $TPU_NAME, else "local" (the TPU of a Cloud TPU VM)."""
    return address or os.environ.get("TPU_NAME", "") or "local"


def tpu_hinted(address: str = "") -> bool:
    """True when a TPU is worth trying in `auto` mode: an address is given, or this is a TPU VM."""
    if address or os.environ.get("TPU_NAME"):
        return True
    has_libtpu = importlib.util.find_spec("libtpu") is not None
    return has_libtpu and bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def _probe(master: str, timeout: float) -> None:
    """A TCP connect to a grpc://host:port master, so an address where nothing listens fails in seconds."""
    url = urlparse(master)
    if url.scheme != "grpc" or not url.hostname or not url.port:
        return
    try:
        with socket.create_connection((url.hostname, url.port), timeout=min(timeout, 10.0)):
            pass
    except OSError as e:
        raise RuntimeError(f"nothing answers at {url.hostname}:{url.port} ({e})") from None


def _connect(address: str, timeout: float):
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
    if resolver.master():  # a remote TPU worker (TPU Node): connect this client to it first
        _probe(resolver.master(), timeout)
        tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return resolver


def connect_tpu(address: str = "", timeout: float = 60.0):
    """Resolves and initialises the TPU system; returns its TPUClusterResolver.

    address: str. A Cloud TPU name, `grpc://host:port`, or "local"; "" as `tpu_address` says.
    timeout: float. Seconds to wait for the TPU (the connect and the initialisation can otherwise block
      forever on an address that accepts and never answers). Raises UserError when no TPU is there.
    """
    address = tpu_address(address)
    result: dict = {}

    def work():
        try:
            result["resolver"] = _connect(address, timeout)
        except Exception as e:  # noqa: BLE001  (any failure means: no usable TPU at this address)
            result["error"] = e

    thread = threading.Thread(target=work, name="tfbig-tpu-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise UserError(f"runtime.strategy is tpu, but no TPU at '{address}' answered within "
                        f"{timeout:g} s (runtime.tpu_timeout)")
    if "error" in result:
        first_line = (str(result["error"]).strip().splitlines() or [type(result["error"]).__name__])[0]
        first_line = first_line.split(" Failed in initialization")[0]  # the rest names TF kernels
        raise UserError(f"runtime.strategy is tpu, but no TPU was found at '{address}': {first_line[:200]}")
    log.info("TPU system at '%s' initialised", address)
    return result["resolver"]
