"""``aggregator atom`` and ``aggregator render``: the outputs, rebuilt from the database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Config
from ..edges.files import write_file
from ..edges.hooks import run_on_change
from ..edges.store import Store
from ..run.logs import report
from ..run.publish import publish, publish_atom
from ..steps.render import render_atom
from ..steps.text import counted
from .common import EXIT_OK, with_store


async def cmd_atom(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        if args.output in (None, ""):
            await publish_atom(store, config.output)
            report(str(config.output.atom_path))
            return EXIT_OK
        articles = await store.newest(config.output.atom_limit)
        text = render_atom(
            articles,
            title=config.output.atom_title,
            feed_id=config.output.atom_id or await store.atom_id(),
            self_url=config.output.atom_url,
        )
        if args.output == "-":
            sys.stdout.write(text)
        else:
            write_file(Path(args.output).resolve(), text)
        return EXIT_OK

    return await with_store(config, work)


async def cmd_render(config: Config, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await store.sync_feeds(config.feeds)
        await store.mark_unrendered(None)
        if not await store.lead_publisher():
            report("render: another worker holds the publisher lock; every post is queued for it")
            return EXIT_OK
        changes = await publish(store, config.output)
        report(
            f"rendered: {counted(changes.added_count, 'post')} re-created, "
            f"{changes.updated_count} rewritten"
            f"{', feeds changed' if changes.feeds_changed else ''}",
        )
        await run_on_change(config.output, changes)
        return EXIT_OK

    return await with_store(config, work)
