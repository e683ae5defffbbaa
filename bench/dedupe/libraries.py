"""``python -m bench.dedupe.libraries [--shared DIR]``: MinHash libraries on our shingles.

Per article CPU time of the MinHash step alone (64 hash functions, shingles made beforehand),
on the real article texts (Latin 300-3000 words, CJK 500-5000 characters), and the error of
the estimated Jaccard against the exact one over copy pairs and random pairs of the corpus.
datasketch is optional (``pip install datasketch``); without it its rows are skipped.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path

import rensa

from aggregator.steps.similar import _shingle, compare

from .corpus import build
from .sources import load_originals

ROOT = Path(__file__).resolve().parents[2]
NUM_PERM = 64  # as similar.signature's whole-text bands

Sketch = Callable[[array], list[int]]  # type: ignore[type-arg]


def rensa_prehashed(shingles: array) -> list[int]:  # type: ignore[type-arg]
    offsets = array("Q", (0, len(shingles)))
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(shingles, offsets, NUM_PERM, 7)
    return list(matrix.to_rows()[0])


def rensa_bytes(shingles: array) -> list[int]:  # type: ignore[type-arg]
    m = rensa.RMinHash(NUM_PERM, 7)
    m.update([s.to_bytes(8, "little") for s in shingles])
    return list(m.digest())


def rensa_cminhash(shingles: array) -> list[int]:  # type: ignore[type-arg]
    m = rensa.CMinHash(NUM_PERM, 7)
    m.update([s.to_bytes(8, "little") for s in shingles])
    return list(m.digest())


def _sketches() -> dict[str, Sketch]:
    sketches: dict[str, Sketch] = {
        "rensa RMinHash, pre-hashed u64 (ours)": rensa_prehashed,
        "rensa RMinHash, bytes tokens (made here)": rensa_bytes,
        "rensa CMinHash, bytes tokens (made here)": rensa_cminhash,
    }
    try:
        import datasketch
    except ImportError:
        return sketches

    def datasketch_minhash(shingles: array) -> list[int]:  # type: ignore[type-arg]
        m = datasketch.MinHash(num_perm=NUM_PERM, seed=7)
        m.update_batch([s.to_bytes(8, "little") for s in shingles])
        return [int(v) for v in m.hashvalues]

    sketches[f"datasketch {datasketch.__version__} MinHash.update_batch"] = datasketch_minhash
    return sketches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe.libraries")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args(argv)
    docs = build(load_originals(args.shared))
    latin = [
        d.text
        for d in docs
        if d.kind == "original" and not d.cjk and 300 <= len(d.text.split()) <= 3000
    ]
    cjk = [d.text for d in docs if d.kind == "original" and d.cjk and 500 <= len(d.text) <= 5000]
    by_id = {d.id: d for d in docs}
    pairs = [
        (d.text, by_id[f"original/{d.story}"].text)
        for d in docs
        if d.kind in ("wire", "edited", "teaser")
    ]
    rng = random.Random(18)
    originals = [d.text for d in docs if d.kind == "original"]
    pairs += [(rng.choice(originals), rng.choice(originals)) for _ in range(300)]
    print(
        f"{len(latin)} Latin articles, {len(cjk)} CJK articles, {len(pairs)} pairs; "
        f"{NUM_PERM} hash functions.\n"
    )
    print("| library | Latin µs/article | CJK µs/article | mean abs. error of Jaccard |")
    print("|---|---:|---:|---:|")
    for name, sketch in _sketches().items():
        print(
            f"| {name} | {_cost(sketch, latin):.0f} | {_cost(sketch, cjk):.0f} | "
            f"{_error(sketch, pairs):.3f} |"
        )
    return 0


def _cost(sketch: Sketch, texts: Sequence[str]) -> float:
    """Best of 3 passes, CPU µs per text, for the MinHash step alone."""
    shingled = [_shingle(t).whole for t in texts]
    best = float("inf")
    for _ in range(3):
        started = time.process_time_ns()
        for s in shingled:
            sketch(s)
        best = min(best, time.process_time_ns() - started)
    return best / len(texts) / 1000


def _error(sketch: Sketch, pairs: Sequence[tuple[str, str]]) -> float:
    errors = []
    for a, b in pairs:
        sa, sb = _shingle(a).whole, _shingle(b).whole
        if not sa or not sb:
            continue
        da, db = sketch(sa), sketch(sb)
        estimate = sum(x == y for x, y in zip(da, db, strict=True)) / NUM_PERM
        errors.append(abs(estimate - compare(a, b).jaccard))
    return statistics.mean(errors)


if __name__ == "__main__":
    raise SystemExit(main())
