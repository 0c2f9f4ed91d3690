"""The memory a training step of tfbig's encoder needs: weights, gradients, optimizer slots, activations.

Counted from the geometry (a BertEncoder's keyword arguments) without TensorFlow: what the backward pass
keeps of each block, per example, at length T with H hidden, I feed-forward, N heads (bytes a = 4 in float32,
2 for the matrix products under a mixed policy; softmax, LayerNorm and the residual stream stay float32):

| kept for the backward pass              | elements   | bytes            |
|-----------------------------------------|------------|------------------|
| block input (Q/K/V kernel gradients)    | T·H        | 4                |
| Q, K, V heads (the two attention matmuls) | 3·T·H    | a                |
| softmax output (its gradient)           | N·T²       | 4                |
| dropped probabilities (matmul with V), mask | N·T²   | a, 1 (dropout)   |
| context (output projection's input)     | T·H        | a                |
| two LayerNorm inputs, one LN output     | 3·T·H      | 4                |
| FFN activation's own intermediates (exact GELU 0.5·x·(1+erf(x/√2)): x/√2, 0.5·x, 1+erf) | 3·T·I | a |
| FFN activation output (output projection's input) | T·I | a               |
| two residual dropout masks              | 2·T·H      | 1 (dropout)      |

Recomputation (`train.recompute: blocks`) keeps only every block's input and one block's activations at a
time. LoRA keeps the activations the frozen layers' input gradients need (a frozen Dense without adapter
needs no copy of its input) and no gradients or slots for frozen weights. The backward pass needs working
room for about three of a block's largest tensors (the (B, N, T, T) scores and their gradients).

Building a model holds about two more copies of the weights (their initial values, freed but kept by the
allocator): measured 8–9 bytes per parameter from MiniLM to BERT-base (benchmarks/memory.py). The step's
gradients and activations reuse that memory first, so the peak is weights + slots + the larger of the two.

Once a step has run, the runtime also holds a working set that does not grow with the model: the traced and
optimised graphs, the kernels' scratch and cached primitives, the allocator's arenas. benchmarks/memory.py
measured what the terms above leave unexplained at 309–483 MB (MiniLM 32×128), 591–595 MB (BERT-base 8×512)
and 95–341 MB (BERT-large 4×512) in two runs: RUNTIME_WORKING_SET is their mean, added to every plan.
"""
import math
from dataclasses import asdict, dataclass

from tfbig.errors import UserError

GIB = 1024 ** 3
SLOTS = {"adam": 2, "adamw": 2, "adagrad": 1, "sgd": 0}  # optimizer slot variables per trained weight
# (B, T, I) tensors an activation's gradient keeps besides its output: the ops tf.nn.gelu is made of
ACTIVATION_KEPT = {"gelu": 3, "gelu_new": 4, "gelu_pytorch_tanh": 4, "relu": 0}
RUNTIME_WEIGHT_COPIES = 2
RUNTIME_WORKING_SET = 400 * 1024 ** 2  # bytes: graphs, kernel scratch, allocator arenas (see above)


@dataclass
class MemoryPlan:
    params: int  # all weights, head included
    trainable_params: int
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    cast_bytes: int  # compute-dtype copies of the kernels a mixed policy keeps for the backward pass
    runtime_bytes: int  # build-time copies of the weights (initial values), reused by the step's tensors
    working_set_bytes: int  # the runtime's own working set once a step has run (RUNTIME_WORKING_SET)
    activation_bytes_per_example: int
    workspace_bytes: int  # the backward pass's working room for the configured batch
    batch_size: int
    max_length: int
    precision: str
    lora_rank: int
    recompute: str
    peak_bytes: int  # for the configured batch
    device_bytes: int
    fits: bool
    max_batch: int  # the largest micro-batch that fits (0: none)
    accumulation_steps: int  # micro-batches of ≤ max_batch giving the configured batch (0: none fits)

    def to_dict(self) -> dict:
        return asdict(self)


def _lora_params(h: int, i: int, rank: int, targets) -> int:
    shapes = {"query": (h, h), "key": (h, h), "value": (h, h), "attention_output": (h, h),
              "intermediate": (h, i), "output": (i, h)}
    return sum(rank * (shapes[t][0] + shapes[t][1]) for t in targets)


def count_params(geometry: dict, num_labels: int = 2) -> dict:
    """{"embeddings", "block", "pooler", "head", "total"} parameter counts of a BertEncoder + classifier head."""
    h, i, layers = geometry["hidden_size"], geometry["intermediate_size"], geometry["num_hidden_layers"]
    embeddings = (geometry["vocab_size"] + geometry.get("max_position_embeddings", 512)
                  + geometry.get("type_vocab_size", 2)) * h + 2 * h
    block = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    pooler, head = h * h + h, h * num_labels + num_labels
    return {"embeddings": embeddings, "block": block, "pooler": pooler, "head": head,
            "total": embeddings + layers * block + pooler + head}


def _block_activations(t: int, h: int, i: int, n: int, a: int, dropout: bool, attention_dropout: bool,
                       frozen_inputs: set, activation_kept: int = 3) -> int:
    """Bytes one block keeps per example (table above); frozen_inputs: Dense layers whose input is not kept."""
    th, ti, ntt = t * h, t * i, n * t * t
    kept = 4 * th if "qkv" not in frozen_inputs else 0  # block input, for the Q/K/V kernels
    kept += 3 * th * a + 4 * ntt
    kept += ntt * (a + 1) if attention_dropout else 0
    kept += th * a if "attention_output" not in frozen_inputs else 0
    kept += 3 * th * 4
    kept += activation_kept * ti * a  # the activation's gradient needs them, frozen or not
    kept += ti * a if "output" not in frozen_inputs else 0
    kept += 2 * th if dropout else 0
    return kept


def plan_memory(geometry: dict, batch_size: int, max_length: int, precision: str = "float32",
                optimizer: str = "adam", momentum: float = 0.0, lora_rank: int = 0, lora_targets=("query", "value"),
                lora_layer_norms: bool = False, recompute: str = "none", device_bytes: int = 16 * GIB,
                num_labels: int = 2, hidden_dropout: float | None = None, attention_dropout: float | None = None,
                accumulation_steps: int = 1) -> MemoryPlan:
    """The MemoryPlan of one training step.

    geometry: dict. BertEncoder arguments (a model folder's config.json or a preset).
    batch_size: int. The micro-batch (data.batch_size; accumulation processes one at a time).
    hidden_dropout, attention_dropout: float or None. None reads the geometry's (BERT's 0.1 when absent).
    accumulation_steps: int. The configured accumulation; the suggested one is computed from max_batch.
    """
    h, i, layers = geometry["hidden_size"], geometry["intermediate_size"], geometry["num_hidden_layers"]
    n = geometry["num_attention_heads"]
    if hidden_dropout is None:
        hidden_dropout = geometry.get("hidden_dropout_prob", 0.1)
    if attention_dropout is None:
        attention_dropout = geometry.get("attention_probs_dropout_prob", 0.1)
    counts = count_params(geometry, num_labels)
    mixed = precision != "float32"
    a = 2 if mixed else 4
    if lora_rank:
        norms = (2 * layers + 1) * 2 * h if lora_layer_norms else 0
        trainable = layers * _lora_params(h, i, lora_rank, lora_targets) + counts["head"] + norms
        params = counts["total"] + layers * _lora_params(h, i, lora_rank, lora_targets)
        frozen_inputs = set()
        if not {"query", "key", "value"} & set(lora_targets):
            frozen_inputs.add("qkv")
        frozen_inputs |= {"attention_output", "output"} - set(lora_targets)
    else:
        trainable = params = counts["total"]
        frozen_inputs = set()
    slots = SLOTS.get(optimizer, 2) + (1 if optimizer == "sgd" and momentum > 0 else 0)
    t = int(max_length)
    block = _block_activations(t, h, i, n, a, hidden_dropout > 0, attention_dropout > 0, frozen_inputs,
                               ACTIVATION_KEPT.get(geometry.get("hidden_act", "gelu"), 3))
    embeddings = 3 * t * h * 4 + (t * h if hidden_dropout > 0 else 0)
    if recompute == "blocks":  # block inputs and dropout masks (replayed) + one block being recomputed
        masks = (n * t * t if attention_dropout > 0 else 0) + (2 * t * h if hidden_dropout > 0 else 0)
        per_example = layers * (t * h * 4 + masks) + block + embeddings
    else:
        per_example = layers * block + embeddings
    workspace_per_example = 3 * n * t * t * 4  # scores-sized gradients in flight
    weights = 4 * params
    runtime = RUNTIME_WEIGHT_COPIES * weights
    cast = 2 * layers * counts["block"] if mixed else 0
    static = weights + 4 * trainable * slots + cast + RUNTIME_WORKING_SET
    gradients = 4 * trainable

    def peak(b: int) -> int:
        return static + max(runtime, gradients + b * (per_example + workspace_per_example))

    room = device_bytes - static - gradients
    max_batch = max(0, room // (per_example + workspace_per_example)) if room > 0 else 0
    if static + runtime > device_bytes:
        max_batch = 0
    total_batch = batch_size * accumulation_steps
    accumulation = math.ceil(total_batch / max_batch) if max_batch else 0
    return MemoryPlan(params=params, trainable_params=trainable, weight_bytes=weights,
                      gradient_bytes=gradients, optimizer_bytes=4 * trainable * slots,
                      cast_bytes=cast, runtime_bytes=runtime, working_set_bytes=RUNTIME_WORKING_SET,
                      activation_bytes_per_example=per_example, workspace_bytes=batch_size * workspace_per_example,
                      batch_size=batch_size, max_length=t, precision=precision, lora_rank=lora_rank,
                      recompute=recompute, peak_bytes=peak(batch_size), device_bytes=int(device_bytes),
                      fits=peak(batch_size) <= device_bytes, max_batch=int(max_batch),
                      accumulation_steps=int(accumulation))


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB"


def verdict(plan: MemoryPlan) -> str:
    """One line: whether the batch fits, and if not by how much and what would."""
    if plan.fits:
        return (f"fits: peak {_gib(plan.peak_bytes)} of {_gib(plan.device_bytes)}; the largest batch that fits is "
                f"{plan.max_batch}")
    over = plan.peak_bytes - plan.device_bytes
    head = (f"does not fit: batch {plan.batch_size} × {plan.max_length} tokens needs {_gib(plan.peak_bytes)}, "
            f"{_gib(over)} more than the {_gib(plan.device_bytes)} of device memory")
    if plan.max_batch == 0:
        static = (plan.weight_bytes + plan.optimizer_bytes + plan.cast_bytes + plan.working_set_bytes
                  + max(plan.runtime_bytes, plan.gradient_bytes))
        return (head + f"; weights, gradients, optimizer slots and the runtime's working set alone need "
                f"{_gib(static)}, so no batch fits "
                "(LoRA, a smaller model or more memory)")
    return head + (f"; the largest batch that fits is {plan.max_batch} (data.batch_size={plan.max_batch} with "
                   f"train.accumulation_steps={plan.accumulation_steps} keeps the effective batch)")


def summary_line(plan: MemoryPlan) -> str:
    """The plan in one line (a run's log: one line per stage)."""
    return (f"{plan.params:,} parameters ({100 * plan.trainable_params / plan.params:.2f}% trained), "
            f"{plan.precision}, LoRA rank {plan.lora_rank or 'off'}, recompute {plan.recompute}, "
            f"{plan.activation_bytes_per_example / 1024 ** 2:.1f} MiB of activations per example; " + verdict(plan))


def format_plan(plan: MemoryPlan) -> str:
    """The plan as the CLI prints it and a run logs it."""
    rows = [
        ("parameters", f"{plan.params:,} ({plan.trainable_params:,} trained, "
                       f"{100 * plan.trainable_params / plan.params:.2f}%)"),
        ("weights", _gib(plan.weight_bytes)), ("gradients", _gib(plan.gradient_bytes)),
        ("optimizer slots", _gib(plan.optimizer_bytes)),
        ("compute-dtype weight copies", _gib(plan.cast_bytes)),
        ("build-time weight copies (reused)", _gib(plan.runtime_bytes)),
        ("runtime working set", _gib(plan.working_set_bytes)),
        ("activations per example", f"{plan.activation_bytes_per_example / 1024 ** 2:.1f} MiB at "
                                    f"{plan.max_length} tokens"),
        ("backward working room", _gib(plan.workspace_bytes)),
        ("precision / LoRA rank / recompute", f"{plan.precision} / {plan.lora_rank or 'off'} / {plan.recompute}"),
        (f"peak at batch {plan.batch_size}", _gib(plan.peak_bytes)),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows) + "\n" + verdict(plan)


def parse_bytes(text: str) -> int:
    """"16GiB", "512MiB", "1.5GB", "2e9" → bytes; UserError otherwise."""
    units = {"": 1, "b": 1, "kib": 1024, "mib": 1024 ** 2, "gib": GIB, "tib": 1024 ** 4, "kb": 1e3, "mb": 1e6,
             "gb": 1e9, "tb": 1e12, "k": 1024, "m": 1024 ** 2, "g": GIB, "t": 1024 ** 4}
    s = str(text).strip().lower().replace(" ", "")
    number = s.rstrip("kmgtib")
    unit = s[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = None
    if value is None or unit not in units or value <= 0:
        raise UserError(f"--device-memory '{text}' is not a size like 16GiB, 512MiB or 2e9")
    return int(value * units[unit])
