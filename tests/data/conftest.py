"""The Spark tests' shared session: one JVM for tests/data/test_spark.py and test_spark_corpus.py.

Needs PySpark (installed here if missing) and Java 17+ (installed with apt-get on CI, where CI=true or
TFBIG_INSTALL_JAVA=1; elsewhere the tests are skipped, saying so).
"""
import importlib
import os
import re
import shutil
import subprocess
import sys

import pytest

PYSPARK = "pyspark==4.0.1"  # as in setup.cfg's spark and dev extras


def _java_major() -> int:
    java = shutil.which("java") or os.path.join(os.environ.get("JAVA_HOME", "/nonexistent"), "bin", "java")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r'version "(?:1\.)?(\d+)', out)
    return int(m.group(1)) if m else 0


def _java_missing() -> str | None:
    """None when Java 17+ runs (after installing it where allowed), else why the tests cannot run."""
    if _java_major() >= 17:
        return None
    allowed = os.environ.get("CI") == "true" or os.environ.get("TFBIG_INSTALL_JAVA") == "1"
    if allowed and shutil.which("apt-get") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "default-jre-headless"], env=env, capture_output=True,
                       timeout=900)
        if _java_major() >= 17:
            return None
        return "Java 17+ not found and `apt-get install default-jre-headless` did not provide it"
    return ("Java 17+ not found (Spark 4 needs it): apt-get install default-jre-headless, "
            "or set TFBIG_INSTALL_JAVA=1 to let the tests install it")


def _ensure_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PYSPARK], check=True, timeout=900)
        importlib.invalidate_caches()


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for all the Spark tests (one JVM start)."""
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    _ensure_pyspark()
    from tfbig.data.spark import get_session

    # maxResultSize 1m: collecting the data (BBC is 5 MB) to the driver would fail the job.
    session = get_session("local[2]", conf={"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
                                            "spark.driver.maxResultSize": "1m"})
    yield session
    session.stop()
