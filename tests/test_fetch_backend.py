"""edges/fetch/backend.AsyncioBackend, httpcore's network backend on asyncio's transports,
against real servers on 127.0.0.1: TLS (a CA and certificate from trustme), a body larger than
the receive buffer, a server that stalls, one that closes an idle connection."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import pytest
import trustme

from aggregator.edges.fetch.backend import AsyncioBackend

BODY = bytes(range(256)) * 4096  # 1 MB: four times the receive buffer's pause mark


def respond(conn: socket.socket, body: bytes) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@contextmanager
def serving(
    handle: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None
) -> Iterator[int]:
    """A server on 127.0.0.1 calling ``handle`` with each connection (TLS-wrapped with
    ``tls``); yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # accept() wakes up to see ``stop``
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            with conn:
                if tls is None:
                    handle(conn)
                    continue
                try:
                    wrapped = tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    continue  # a client that refused the certificate
                with wrapped:
                    handle(wrapped)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def get(url: str, ssl_context: ssl.SSLContext | None = None, **extensions: object) -> bytes:
    async def go() -> bytes:
        async with httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=AsyncioBackend()
        ) as pool:
            response = await pool.request("GET", url, extensions=extensions)
            return response.content

    return asyncio.run(go())


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for "localhost" and a client context trusting its CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def test_a_tls_connection_is_verified_and_reads_a_large_body() -> None:
    server, client = tls_contexts()

    with serving(lambda conn: respond(conn, BODY), tls=server) as port:
        assert get(f"https://localhost:{port}/", client) == BODY
        # An unknown CA fails the handshake: httpcore's ConnectError, as anyio's backend gives.
        with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get(f"https://localhost:{port}/", ssl.create_default_context())


def test_a_plain_body_larger_than_the_buffer_arrives_whole() -> None:
    with serving(lambda conn: respond(conn, BODY)) as port:
        assert get(f"http://127.0.0.1:{port}/") == BODY


def test_a_server_that_stalls_times_the_read_out() -> None:
    released = threading.Event()

    def stall(conn: socket.socket) -> None:
        conn.recv(65536)
        released.wait(10)

    with serving(stall) as port:
        try:
            with pytest.raises(httpcore.ReadTimeout):
                get(f"http://127.0.0.1:{port}/", timeout={"read": 0.2})
        finally:
            released.set()


def test_a_server_that_hangs_up_mid_body_is_a_read_error_not_a_short_body() -> None:
    def cut(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")

    with serving(cut) as port, pytest.raises(httpcore.RemoteProtocolError):
        get(f"http://127.0.0.1:{port}/")


def test_an_idle_connection_the_server_closed_reads_as_readable() -> None:
    """What httpcore asks before reusing an idle connection: readable means the server
    closed it (no poll of the socket: the transport has seen the end)."""
    closed = threading.Event()

    def once(conn: socket.socket) -> None:
        respond(conn, b"ok")
        conn.close()
        closed.set()

    async def go() -> tuple[bool, bool]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await stream.read(65536)
        assert first.endswith(b"ok")
        before = stream.get_extra_info("is_readable")
        await asyncio.to_thread(closed.wait, 10)
        for _ in range(200):  # the end reaches the event loop within a few iterations
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        after = stream.get_extra_info("is_readable")
        await stream.aclose()
        return before, after

    with serving(once) as port:
        assert asyncio.run(go()) == (False, True)


def test_a_closed_tls_connection_lets_its_socket_go_at_once() -> None:
    """A server that never answers close_notify: asyncio's TLS transport kept the socket
    until its shutdown timeout (30 s) after a plain close()."""
    server, client = tls_contexts()
    done = threading.Event()

    async def go() -> bool:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        stream = await stream.start_tls(client, "localhost", timeout=5)
        sock = stream.get_extra_info("socket")
        await stream.aclose()
        for _ in range(100):  # a few loop iterations at most
            if sock.fileno() == -1:
                return True
            await asyncio.sleep(0.01)
        return False

    with serving(lambda conn: done.wait(10), tls=server) as port:
        try:
            assert asyncio.run(go())
        finally:
            done.set()


def test_a_write_that_timed_out_leaves_the_next_write_a_timeout_not_a_cancellation() -> None:
    done = threading.Event()

    async def go() -> list[str]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        outcomes = []
        for data in (b"x" * (64 * 1024 * 1024), b"y"):  # more than the socket buffers take
            try:
                await stream.write(data, timeout=0.2)
                outcomes.append("written")
            except httpcore.WriteTimeout:
                outcomes.append("timeout")
        await stream.aclose()
        return outcomes

    with serving(lambda conn: done.wait(10)) as port:  # accepts, never reads
        try:
            assert asyncio.run(go()) == ["timeout", "timeout"]
        finally:
            done.set()


def test_tls_on_a_connection_the_server_already_closed_fails_at_once() -> None:
    """Not a handshake sent into a closed connection, waiting for its timeout."""
    _, client = tls_contexts()

    async def go() -> None:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port)
        for _ in range(200):
            if stream.get_extra_info("is_readable"):  # the end has arrived
                break
            await asyncio.sleep(0.01)
        await stream.start_tls(client, "localhost", timeout=30)

    with serving(lambda conn: conn.close()) as port:
        started = asyncio.run(asyncio.wait_for(_raises(go()), 10))
    assert isinstance(started, httpcore.ConnectError)
    assert not isinstance(started, httpcore.ConnectTimeout)


async def _raises(step: Coroutine[Any, Any, None]) -> BaseException | None:
    try:
        await step
    except Exception as e:  # the test looks at which
        return e
    return None
