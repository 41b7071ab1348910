"""`procmine serve`: the dashboards folder over HTTP on 127.0.0.1 (standard library only)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from procmine.errors import ProcmineError

DEFAULT_PORT = 8765
HOST = "127.0.0.1"   # never all interfaces: the pages may show internal group names


class DashboardHandler(SimpleHTTPRequestHandler):
    """Static files with no caching, quiet unless something fails."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


def make_server(directory: Path, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """A server for `directory` on 127.0.0.1:`port` (0 = any free port); not started."""
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise ProcmineError(f"no dashboards in {directory} yet; build them with "
                            "`procmine dashboards` (or `procmine run`)")
    handler = functools.partial(DashboardHandler, directory=str(directory))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise ProcmineError(f"cannot listen on {HOST}:{port} ({exc.strerror}); "
                            "pick another with --port") from exc


def serve_forever(directory: Path, port: int = DEFAULT_PORT,
                  announce: object = print) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    announce(f"serving {directory} at http://{host}:{bound}/index.html (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
