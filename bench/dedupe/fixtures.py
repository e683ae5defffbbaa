"""``python -m bench.dedupe.fixtures``: rewrites tests/fixtures/similar from its originals.

The originals (``originals/*.txt``: a title line, then paragraphs separated by blank lines) were
written for the tests. From each, the corpus makes a wire copy, an edited copy and a teaser;
from all of them, two documents of each look-alike family. The tests read the files; run this
only to change them.
"""

from __future__ import annotations

from pathlib import Path

from .corpus import LOOKALIKE_FAMILIES, _sentence_pool, copies, lookalikes
from .sources import Original, language

FOLDER = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "similar"
SEED = 18
PER_FAMILY = 2


def read_original(path: Path) -> Original:
    title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    paragraphs = tuple(p.strip() for p in body.split("\n\n") if p.strip())
    return Original(path.stem, title.strip(), paragraphs, language(body), path.stem)


def main() -> int:
    originals = [read_original(p) for p in sorted((FOLDER / "originals").glob("*.txt"))]
    written = 0
    for original in originals:
        for doc in copies(original, SEED):
            if doc.id.split("/")[1] == "0":  # one copy of each kind
                _write(FOLDER / "copies" / f"{original.name}.{doc.kind}.txt", doc.text)
                written += 1
    pool = _sentence_pool(originals)
    for family in LOOKALIKE_FAMILIES:
        for n, doc in enumerate(lookalikes(family, pool, SEED)):
            if n == PER_FAMILY:
                break
            _write(FOLDER / "lookalikes" / f"{family}-{n}.txt", doc.text)
            written += 1
    print(f"{written} files in {FOLDER}")
    return 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
