"""A split that needs no global view of the data: each text's split follows from a hash of it and the seed.

A text goes to test when a 60-bit number read from sha1("<seed>:<text>") falls below test_fraction·2⁶⁰,
to validation when it falls below (test_fraction + val_fraction)·2⁶⁰, else to train. Within each class the
numbers are uniform, so the split is stratified up to sampling noise (±√n per class), and the same text
always lands in the same split, whichever machine, partition or order sees it. Spark computes the same
number with SQL (`spark_split_expression`), so a local writer and a Spark job agree example by example.
"""
import hashlib

from tfbig.errors import UserError

SPLITS = ("train", "val", "test")
HASH_BITS = 60  # 15 hex digits of the sha1: fits a signed 64-bit long in Spark SQL


def check_fractions(test_fraction: float, val_fraction: float) -> None:
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1 or test_fraction + val_fraction >= 1:
        raise UserError(f"test_fraction {test_fraction} and val_fraction {val_fraction} must be in [0, 1) "
                        "with test_fraction > 0 and their sum below 1")


def thresholds(test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """The integer bounds (test below the first, val below the second) on the 60-bit hash."""
    check_fractions(test_fraction, val_fraction)
    scale = 1 << HASH_BITS
    return int(round(test_fraction * scale)), int(round((test_fraction + val_fraction) * scale))


def split_hash(text: str, seed: int) -> int:
    """The first 60 bits of sha1 of the UTF-8 bytes of "<seed>:<text>", as a non-negative int."""
    digest = hashlib.sha1(f"{int(seed)}:{text}".encode("utf-8")).hexdigest()
    return int(digest[: HASH_BITS // 4], 16)


def assign_split(text: str, seed: int = 0, test_fraction: float = 0.2, val_fraction: float = 0.1) -> str:
    """"train", "val" or "test" for a (cleaned) text; depends on nothing else."""
    test_below, val_below = thresholds(test_fraction, val_fraction)
    h = split_hash(text, seed)
    return "test" if h < test_below else "val" if h < val_below else "train"


def spark_split_hash_column(text_col, seed: int):
    """The Spark column equal to split_hash(text, seed) for each row (needs pyspark)."""
    from pyspark.sql import functions as F

    digest = F.sha1(F.concat(F.lit(f"{int(seed)}:"), text_col))  # Spark hashes the UTF-8 bytes, as Python
    return F.conv(F.substring(digest, 1, HASH_BITS // 4), 16, 10).cast("long")


def spark_split_column(hash_col, test_fraction: float, val_fraction: float):
    """The Spark column of split ids (0 train, 1 val, 2 test) from the column of split_hash values."""
    from pyspark.sql import functions as F

    test_below, val_below = thresholds(test_fraction, val_fraction)
    return (F.when(hash_col < F.lit(test_below), F.lit(SPLITS.index("test")))
            .when(hash_col < F.lit(val_below), F.lit(SPLITS.index("val")))
            .otherwise(F.lit(SPLITS.index("train"))))
