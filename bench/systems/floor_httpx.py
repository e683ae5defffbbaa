"""The network floor: httpx fetching every URL once (bodies read, nothing parsed), with the
same concurrency as aggregator. python -m bench.systems.floor_httpx URLS_FILE CONCURRENCY"""

from __future__ import annotations

import asyncio
import sys

import httpx


async def main(urls: list[str], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def get(url: str) -> int:
            async with gate:
                return len((await client.get(url)).content)

        sizes = await asyncio.gather(*(get(u) for u in urls))
    print(f"bytes={sum(sizes)}", file=sys.stderr)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        urls = f.read().split()
    asyncio.run(main(urls, int(sys.argv[2])))
