"""The corpus over HTTP on 127.0.0.1: nginx (static files, ETag, Last-Modified, gzip) started
and stopped here; a Python server with the same validators when nginx is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

NGINX_CONF = """
daemon off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ application/xml xml; }}
    sendfile on;
    keepalive_requests 100000;
    etag on;
    gzip on;
    gzip_types application/xml;
    gzip_min_length 256;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CorpusServer:
    """Serves ``corpus/current`` (a symlink switched between gen1 and gen2 by ``serve``)."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self.port = _free_port()
        self.current = corpus / "current"
        self.name = "nginx" if shutil.which("nginx") else "Python http.server (nginx missing)"
        self._proc: subprocess.Popen[bytes] | None = None
        self._httpd: ThreadingHTTPServer | None = None

    def serve(self, gen: int) -> None:
        tmp = self.corpus / "current.tmp"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(self.corpus / f"gen{gen}")
        os.replace(tmp, self.current)

    def urls(self, n: int) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/feed-{i}.xml" for i in range(n)]

    def __enter__(self) -> CorpusServer:
        self.serve(1)
        if shutil.which("nginx"):
            prefix = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
            (prefix / "tmp").mkdir()
            conf = prefix / "nginx.conf"
            conf.write_text(NGINX_CONF.format(prefix=prefix, port=self.port, root=self.current))
            self._proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(prefix)])
        else:
            self._httpd = _python_server(self.current, self.port)
        self._wait_ready()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        if self._httpd:
            self._httpd.shutdown()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the corpus server did not start")


def _python_server(root: Path, port: int) -> ThreadingHTTPServer:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def end_headers(self) -> None:
            path = Path(self.translate_path(self.path))
            if path.is_file():
                st = path.stat()
                self.send_header("ETag", f'"{st.st_mtime_ns:x}-{st.st_size:x}"')
            super().end_headers()

        def send_head(self):  # type: ignore[no-untyped-def]
            path = Path(self.translate_path(self.path))
            if path.is_file():
                st = path.stat()
                if self.headers.get("If-None-Match") == f'"{st.st_mtime_ns:x}-{st.st_size:x}"':
                    self.send_response(304)
                    self.end_headers()
                    return None
            return super().send_head()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
