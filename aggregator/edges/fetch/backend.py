"""The network backend aggregator gives httpcore's connection pool: asyncio's own transports
(``AsyncioBackend``), and the pool's bookkeeping made linear (``LinearPool``).

httpcore's default backend on asyncio is anyio's. For each read and each write it entered a
cancel scope (a timer, task lookups), for each read it paused and resumed reading (two
epoll_ctl calls), and before reusing an idle connection it polled the socket; anyio's TLS is a
memory BIO driven from Python. With asyncio's transports the event loop reads the socket as
data comes (TLS in asyncio's own SSL protocol), a read takes what has arrived, and a deadline
is set only when a read or write has to wait.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Coroutine, Iterable
from typing import Any, cast

import httpcore

# Bytes received and not yet read that pause reading from the socket (a body is read in 64 KB
# pieces); reading resumes below half of it.
_BUFFER_HIGH = 256 * 1024
_BUFFER_LOW = _BUFFER_HIGH // 2


class _Connection(asyncio.Protocol):
    """The receiving and writing side of one connection, for ``AsyncioStream``: what the
    event loop reads from the socket waits in ``buffer`` for the next ``read``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # EOF or connection lost: nothing more will arrive
        self.error: BaseException | None = None
        self._reader: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused = False  # reading paused: the buffer is full

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _BUFFER_HIGH and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return False  # close the transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self.ended = True
        self.error = exc
        self._wake_reader()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    async def received(self) -> None:
        """Until there is something to read, or nothing more will come."""
        while not self.buffer and not self.ended:
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._paused and len(self.buffer) < _BUFFER_LOW and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def drained(self) -> None:
        if self._drained is not None:
            # Shielded: a write timed out while waiting must not cancel the future the next
            # write waits on (it would raise CancelledError there).
            await asyncio.shield(self._drained)

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection on asyncio's own transport. httpcore's anyio stream entered a cancel
    scope (a timer, task lookups) for each read and write, paused and resumed reading (two
    epoll_ctl calls) for each read, and answered "is the idle connection readable" with a
    poll of its socket; here a read takes what the transport has already received, a
    deadline is set only when the read has to wait, and readable means "bytes or an end
    arrived"."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.buffer and not connection.ended:
            try:
                async with asyncio.timeout(timeout):
                    await connection.received()
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading") from None
        if connection.buffer:
            return connection.take(max_bytes)
        if connection.error is not None:
            raise httpcore.ReadError(str(connection.error) or type(connection.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        transport = self._connection.transport
        if not buffer:
            return
        if transport is None or transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await self._connection.drained()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing") from None

    async def aclose(self) -> None:
        """At once, as anyio's stream: a closing TLS transport would otherwise keep its socket
        until the server answered close_notify (30 s when it does not), a plain one until
        its unsent bytes left."""
        transport = self._connection.transport
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)  # the close_notify or the last bytes, if they can go now
            transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        connection = self._connection
        if connection.ended or connection.transport is None or connection.transport.is_closing():
            await self.aclose()  # a handshake into a closed connection would wait for its timeout
            raise httpcore.ConnectError("the server closed the connection before TLS")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    connection.transport,
                    connection,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError, ConnectionError) as e:
            await self.aclose()
            raise httpcore.ConnectError(str(e) or type(e).__name__) from None
        connection.transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        connection = self._connection
        if info == "is_readable":
            return bool(connection.buffer) or connection.ended
        transport = connection.transport
        if transport is None:
            return None
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return transport.get_extra_info(name)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio's transports (``AsyncioStream``)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        opening = loop.create_connection(
            _Connection,
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=0.25,  # as anyio's
        )
        stream = await _connected(opening, f"{host}:{port}", timeout)
        sock = stream.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await _connected(loop.create_unix_connection(_Connection, path), path, timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    opening: Coroutine[Any, Any, tuple[asyncio.BaseTransport, _Connection]],
    where: str,
    timeout: float | None,
) -> AsyncioStream:
    """A connection being opened, within ``timeout``; failures as httpcore names them."""
    try:
        async with asyncio.timeout(timeout):
            _, connection = await opening
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"timed out connecting to {where}") from None
    except OSError as e:
        raise httpcore.ConnectError(str(e) or type(e).__name__) from None
    return AsyncioStream(connection)


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore 1.0's pool, with its bookkeeping linear in the pool's size. Before each
    request and after each response, httpcore's pool walks its connections and asks every
    one whether it has expired (for an idle HTTP/1.1 connection: a poll of its socket), and
    for every idle one counted them all by asking each whether it is idle: with 32
    connections, 28 % of a pass where all 2,000 feeds answer 304 for the count, and 8 % of a
    pass for the polls (64 per request). Here only a connection about to be given a request
    is asked whether it has expired; one that has is closed and the next is asked. An idle
    connection nobody picks stays until it is picked or its place is wanted, as before its
    next walk; the count is the number of connections."""

    def _assign_requests_to_connections(self) -> list[Any]:
        closing = []
        for connection in list(self._connections):
            surplus = len(self._connections) > self._max_keepalive_connections
            if connection.is_closed():
                self._connections.remove(connection)
            elif surplus and connection.is_idle():
                self._connections.remove(connection)
                closing.append(connection)
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            available = self._available(origin, closing)
            idle = [c for c in self._connections if c.is_idle()]
            if available is not None:
                pool_request.assign_to_connection(available)
            elif len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
            elif idle:
                self._connections.remove(idle[0])
                closing.append(idle[0])
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
        return closing

    def _available(self, origin: httpcore.Origin, closing: list[Any]) -> Any:
        """The first connection that can take a request to ``origin`` now, the expired ones
        before it moved to ``closing``."""
        for connection in list(self._connections):
            if connection.can_handle_request(origin) and connection.is_available():
                if not connection.has_expired():
                    return connection
                self._connections.remove(connection)
                closing.append(connection)
        return None


def install(transport: Any) -> None:
    """Into a direct (proxy-less) httpx transport's connection pool (httpx offers no public
    way to give its pool another network backend; guard.Guard.install wraps this one). The
    linear pool replaces the class only of the httpcore it was copied from (1.0.x)."""
    pool = transport._pool
    pool._network_backend = AsyncioBackend()
    if type(pool) is httpcore.AsyncConnectionPool and httpcore.__version__.startswith("1.0."):
        pool.__class__ = LinearPool
