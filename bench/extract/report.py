"""The Markdown table for the terminal and docs, and the JSON with every page's scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .measure import LOW, SystemResult

HEADER = (
    "| system | mean P | mean R | mean F1 | CJK mean F1 | pages F1<0.5 | s/page | images kept |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
)


def markdown(results: Sequence[SystemResult]) -> str:
    lines = [*HEADER, *(_row(r) for r in results), ""]
    for r in results:
        lines.append(f"- {r.system}: F1 < {LOW} on {', '.join(r.low) or 'no page'}")
        lines += [f"  - {note}" for note in r.notes]
    return "\n".join(lines)


def _row(r: SystemResult) -> str:
    cells = [
        r.system,
        _num(r.mean("precision")),
        _num(r.mean("recall")),
        _num(r.mean("f1")),
        _num(r.mean("f1", cjk_only=True)),
        str(len(r.low)),
        f"{r.seconds_per_page:.3f}",
        "—" if r.images_kept is None else f"{r.images_kept:.0%}",
    ]
    return "| " + " | ".join(cells) + " |"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def write_json(path: Path, results: Sequence[SystemResult], about: dict[str, Any]) -> None:
    document = {
        **about,
        "systems": [
            {
                "system": r.system,
                "mean_precision": r.mean("precision"),
                "mean_recall": r.mean("recall"),
                "mean_f1": r.mean("f1"),
                "cjk_mean_f1": r.mean("f1", cjk_only=True),
                "pages_f1_under_0_5": r.low,
                "seconds_per_page": r.seconds_per_page,
                "images_kept": r.images_kept,
                "notes": r.notes,
                "pages": [asdict(p) for p in r.pages],
            }
            for r in results
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
