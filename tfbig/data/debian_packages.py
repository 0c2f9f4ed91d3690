"""Debian packages unpacked into a cache folder without root: `apt-get download` + `dpkg -x`, moved in when complete.

The data corpora come from Debian packages (fortunes, python3.11-doc). `apt-get download` needs no root and
`dpkg -x` only unpacks; as root, a failing download first refreshes the package lists (`apt-get update`).
The unpacked `usr/` is moved into place only when every package unpacked, so an interrupted install is not
mistaken for data.
"""
import logging
import os
import shutil
import subprocess
import tempfile

from tfbig.errors import UserError

log = logging.getLogger(__name__)


def cache_root() -> str:
    """$TFBIG_CACHE, else ~/.cache/tfbig: where the project's downloaded data lives."""
    return os.environ.get("TFBIG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfbig")


def _run(cmd: list, cwd: str | None = None) -> subprocess.CompletedProcess:
    log.info("running %s", " ".join(cmd))
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def unpack_packages(packages, dest: str, what: str) -> None:
    """Downloads the Debian `packages` and unpacks them into `dest` (dest/usr/...); `what` names the data."""
    packages = list(packages)
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise UserError(f"the {what} data is not installed and there is no {tool} to fetch it "
                            f"(on Debian/Ubuntu: apt-get install {' '.join(packages)})")
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        os.chmod(tmp, 0o755)  # apt's unprivileged _apt user may write there
        got = _run(["apt-get", "download", *packages], cwd=tmp)
        if got.returncode != 0 and os.geteuid() == 0:
            _run(["apt-get", "update"])
            got = _run(["apt-get", "download", *packages], cwd=tmp)
        if got.returncode != 0:
            raise UserError(f"could not download the Debian packages {', '.join(packages)}: "
                            f"{got.stderr.strip().splitlines()[-1] if got.stderr.strip() else got.returncode}")
        staging = os.path.join(tmp, "root")
        for deb in sorted(n for n in os.listdir(tmp) if n.endswith(".deb")):
            unpacked = _run(["dpkg", "-x", os.path.join(tmp, deb), staging])
            if unpacked.returncode != 0:
                raise UserError(f"dpkg -x {deb} failed: {unpacked.stderr.strip()}")
        target = os.path.join(dest, "usr")
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(os.path.join(staging, "usr"), target)
    log.info("%s unpacked into %s", ", ".join(packages), dest)
