"""Quiet by default: TensorFlow's native log noise kept off stderr, tfbig's stages one plain line each.

TensorFlow writes part of its start-up chatter from C++ before any Python code can intervene: absl's
"All log messages before absl::InitializeLog() ..." banner and the lines under it ignore
TF_CPP_MIN_LOG_LEVEL, and two messages that are harmless on a machine without a GPU or AVX-512 are written at
*error* level (`failed call to cuInit`, `oneDNN supports DT_INT64 only ...`). A newcomer reads them as
failures. So, unless `TFBIG_LOG=debug` (the CLI's `--verbose` sets it):

- TF_CPP_MIN_LOG_LEVEL defaults to 2 (native INFO and WARNING off; errors stay);
- `quiet_native_logs()` puts a filter between the process and its stderr *file descriptor* (a pipe and a
  thread), which drops native INFO/WARNING lines and the known-harmless lines in `HARMLESS` and passes
  everything else through unchanged, in order. Python's own writes to sys.stderr go through it too.

Both must happen before TensorFlow is imported, so `import tfbig` does them (cheaply: an environment
variable, a pipe and a thread; TensorFlow itself is imported later, by `tfbig._keras`). `debug_mode()` undoes
them while TensorFlow is not imported yet (the CLI's --verbose). A crash inside native code could lose its last line in the pipe: rerun with
`TFBIG_LOG=debug` to see everything unfiltered.
"""
import atexit
import logging
import os
import re
import sys
import threading

DEBUG_ENV = "TFBIG_LOG"

# Lines that are noise on a healthy machine, whatever their level.
HARMLESS = tuple(re.compile(p) for p in (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"failed call to cuInit",
    r"Could not find cuda drivers on your machine",
    r"Could not load dynamic library 'libcud",
    r"cudart_stub\.cc",
    r"oneDNN custom operations are on",
    r"oneDNN supports DT_INT64 only on platforms with AVX-512",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"rebuild TensorFlow with the appropriate compiler flags",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"TF-TRT Warning: Could not find TensorRT",
    r"computation placer already registered",
))
# A native (absl/tsl) log line: level letter, MMDD, time, thread id, file:line]. I and W are below error.
NATIVE_BELOW_ERROR = re.compile(rb"^[IW]\d{4} [\d:.]+ +\d+ [^ ]+:\d+\]")

_installed = None  # (saved stderr fd, pump thread) once the filter runs
_level_set = False  # whether TF_CPP_MIN_LOG_LEVEL is ours (then debug_mode may lower it)


def debug_logging() -> bool:
    """True when the user asked to see everything (TFBIG_LOG=debug, or the CLI's --verbose)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() == "debug"


def set_native_log_level() -> None:
    """TF_CPP_MIN_LOG_LEVEL for TensorFlow's C++ logs: 2 (errors only) quiet, 0 with debug; a value the user
    set is kept."""
    global _level_set
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if debug_logging() else "2"
        _level_set = True


def is_noise(line: bytes) -> bool:
    """True for a stderr line the quiet filter drops: native INFO/WARNING, or one of HARMLESS."""
    if NATIVE_BELOW_ERROR.match(line) and os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") not in ("0", "1"):
        return True
    text = line.decode("utf-8", "replace")
    return any(p.search(text) for p in HARMLESS)


def _pump(read_fd: int, out_fd: int) -> None:
    """Forwards the pipe to the real stderr segment by segment (a segment ends at \\n or \\r, so progress
    bars redrawing with \\r pass at once), dropping noise."""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                return
            for segment in re.split(rb"(?<=[\r\n])", chunk):
                if segment and not is_noise(segment.rstrip(b"\r\n")):
                    try:
                        os.write(out_fd, segment)
                    except OSError:  # the real stderr is gone: nothing left to forward to
                        return


def quiet_native_logs() -> None:
    """Sets the native log level and, unless TFBIG_LOG=debug, installs the stderr filter (once)."""
    global _installed
    set_native_log_level()
    if _installed is not None or debug_logging() or os.name != "posix":
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        return
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = threading.Thread(target=_pump, args=(read_fd, saved), name="tfbig-stderr-filter", daemon=True)
    thread.start()
    _installed = (saved, thread)
    atexit.register(_restore)


def debug_mode() -> None:
    """TFBIG_LOG=debug from here on: the filter removed and TensorFlow's native level lowered to 0 (unless the
    user set it). Effective for native logs only while TensorFlow is not imported yet."""
    os.environ[DEBUG_ENV] = "debug"
    if _level_set:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    _restore()


def _restore() -> None:
    """At exit: puts the real stderr back and lets the filter forward what is still in the pipe."""
    global _installed
    if _installed is None:
        return
    saved, thread = _installed
    _installed = None
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(saved, 2)  # closes the pipe's last write end (children aside): the pump sees EOF
    thread.join(timeout=2.0)
    if not thread.is_alive():  # else a child process still holds the pipe: its pump keeps `saved`
        os.close(saved)


class StageFormatter(logging.Formatter):
    """tfbig's INFO lines as plain `tfbig: message` stage lines; warnings and errors with level and logger."""

    def format(self, record):
        if record.levelno == logging.INFO and record.name.startswith("tfbig"):
            return f"tfbig: {record.getMessage()}"
        return f"{record.levelname} {record.name}: {record.getMessage()}" + (
            "\n" + self.formatException(record.exc_info) if record.exc_info else "")


def configure_logging(verbose: bool = False) -> None:
    """The CLI's logging: tfbig's stage lines at INFO; other libraries at WARNING (INFO with `verbose`);
    TensorFlow's and absl's Python loggers at ERROR unless verbose."""
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that configured logging (pytest, an app) keeps its own
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(StageFormatter())
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("tfbig").setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in ("tensorflow", "absl", "h5py", "transformers"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
