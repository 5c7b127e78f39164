"""``leo metrics serve``: a Prometheus scrape endpoint for LEO's metrics files."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def metrics() -> None:
    """Prometheus metrics of LEO (see docs/ci.md)."""


@metrics.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=9464,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port, printed on stderr).",
)
@click.option(
    "--metrics-file",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file written by `leo verify --metrics-file`, read at every scrape (repeatable).",
)
def serve(host: str, port: int, files: tuple[Path, ...]) -> None:
    """Serve LEO's metrics on http://HOST:PORT/metrics until interrupted.

    Serves the metrics files (re-read at every scrape) together with this process's own.
    """
    import signal
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app

    from leo.errors import LeoError
    from leo.metrics.export import FilesCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(FilesCollector(list(files)))

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per scrape would drown the log

    try:
        server = make_server(host, port, make_wsgi_app(registry), handler_class=Quiet)
    except OSError as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror}; pass another --host or --port"
        raise LeoError(msg) from None
    # SIGINT asks the loop to stop rather than raising KeyboardInterrupt: wsgiref answers any
    # exception in a request with a 500 and serves on, so an interrupt mid-scrape was lost and
    # the server kept running. The scrape in flight is answered; the loop checks twice a second.
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    server.timeout = 0.5
    try:
        click.echo(f"leo: serving metrics on http://{host}:{server.server_port}/metrics", err=True)
        while not stop.is_set():
            server.handle_request()
    finally:
        server.server_close()
