"""`fer-serve`: fer-live's live view and recorded-video reports in a web browser."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated

import typer

from fer_live.engines.cli_support import run_cli
from fer_live.engines.errors import UsageError
from fer_live.engines.store import DEFAULT_MODEL

HELP = "Serve fer-live's live view and video reports to a web browser (local by default)."
app = typer.Typer(add_completion=False, help=HELP, rich_markup_mode=None)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command(help=HELP)
def main(
    host: Annotated[
        str, typer.Option(help="address to bind; other than loopback needs a token")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    model: Annotated[
        str, typer.Option(help="the model pages and jobs start with")
    ] = DEFAULT_MODEL,
    mode: Annotated[str, typer.Option(help="auto, single, ensemble or ovr")] = "auto",
    detector: Annotated[str, typer.Option(help="mediapipe, mediapipe-full or haar")] = "mediapipe",
    token: Annotated[
        str | None,
        typer.Option(help="required from every client; generated when binding beyond loopback"),
    ] = None,
    jobs_dir: Annotated[
        Path, typer.Option(help="where uploads and finished jobs' files are kept")
    ] = Path("fer-serve-jobs"),
    max_upload_mb: Annotated[float, typer.Option(min=1, help="largest video upload")] = 500.0,
    keep_jobs: Annotated[int, typer.Option(min=1, help="finished jobs kept (oldest deleted)")] = 20,
) -> None:
    def work() -> None:
        import uvicorn

        from fer_live.realtime.web.app import ServeSettings, create_app

        chosen = token
        if chosen is not None and len(chosen) < 8:
            raise UsageError("--token must be at least 8 characters")
        if chosen is None and not _is_loopback(host):
            chosen = secrets.token_urlsafe(18)
        _check_port_free(host, port)
        print(f"fer-serve: loading {model} ({mode}) and the {detector} detector ...", flush=True)
        settings = ServeSettings(model, mode, detector, chosen, jobs_dir, max_upload_mb, keep_jobs)
        web_app = create_app(settings)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        query = f"?token={chosen}" if chosen else ""
        print(f"fer-serve: open http://{shown}:{port}/{query}  (Ctrl-C stops)", flush=True)
        uvicorn.run(web_app, host=host, port=port, log_level="warning", ws_max_size=8 * 1024**2)

    run_cli(work)


def _check_port_free(host: str, port: int) -> None:
    """One clear line instead of uvicorn's log record when the address is taken or invalid."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageError(f"--host {host}: not an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise UsageError(
                f"cannot listen on {host}:{port} ({error.strerror})",
                hint="another --port, or stop what uses it",
            ) from None
