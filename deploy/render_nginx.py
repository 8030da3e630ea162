"""Render deploy/nginx.conf with other values: each line tagged `# render:<name>` is replaced.

    python deploy/render_nginx.py --upstream 127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003 \
        --listen 80 --server-name office.example.com > /etc/virtual-office/nginx.conf

`make faults` uses `render()` to write a private copy (its own prefix directory, pid file, logs,
temporary directories, port and workers; `daemon off;`). A tag that is not given keeps the line of
the template as it is; `upstream` replaces all the tagged server lines with one line per worker.
Standard library only.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
TAG = re.compile(r"#\s*render:([a-z_]+)\s*$")
SERVER_OPTIONS = "max_fails=1 fail_timeout=5s"
# WebSocket handshakes a second that nginx passes on, per worker (nginx.conf, `ws_open`).
WS_OPEN_PER_WORKER = 100


def ws_open_rate_line(rate: int) -> str:
    return f"limit_req_zone $ws_handshake zone=ws_open:1m rate={rate}r/s;"


def render(values: dict[str, str | list[str] | None], template: str | None = None) -> str:
    """`values` maps a tag to the directive(s) that replace its line(s) (a string, possibly with several
    lines, or a list of lines), or to None to drop the line. `upstream` takes a list of host:port."""
    text = TEMPLATE.read_text() if template is None else template
    out: list[str] = []
    done: set[str] = set()
    for line in text.splitlines():
        match = TAG.search(line)
        if match is None or match.group(1) not in values:
            out.append(line)
            continue
        name = match.group(1)
        indent = line[: len(line) - len(line.lstrip())]
        if name in done:  # a repeated tag (the upstream servers) was replaced as a whole
            continue
        done.add(name)
        value = values[name]
        if value is None:
            continue
        if name == "upstream":
            lines = [f"server {address} {SERVER_OPTIONS};" for address in value]
        elif isinstance(value, list):
            lines = value
        else:
            lines = value.splitlines()
        out.extend(f"{indent}{item}" for item in lines)
    unknown = set(values) - done
    if unknown:
        raise ValueError(f"no `# render:` line for {sorted(unknown)} in the template")
    return "\n".join(out) + "\n"


def private_values(prefix: Path, port: int, upstream: list[str], *, user: str | None = None,
                   debug_upstream_header: bool = False) -> dict[str, str | list[str] | None]:
    """Values for a private nginx run as `nginx -p PREFIX -c PREFIX/nginx.conf`, in the foreground."""
    temp = prefix / "temp"
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / name).mkdir(parents=True, exist_ok=True)
    values: dict[str, str | list[str] | None] = {
        "user": f"user {user};" if user else None,
        "worker_processes": "worker_processes 1;",
        # No more than this process may have (nginx only warns, but says so in its error log).
        "rlimit": f"worker_rlimit_nofile {min(65535, resource.getrlimit(resource.RLIMIT_NOFILE)[1])};",
        "pid": f"pid {prefix / 'nginx.pid'};",
        "error_log": f"error_log {prefix / 'error.log'} warn;",
        "daemon": "daemon off;",
        "access_log": "access_log off;",
        "temp_paths": [
            f"client_body_temp_path {temp / 'body'};",
            f"proxy_temp_path {temp / 'proxy'};",
            f"fastcgi_temp_path {temp / 'fastcgi'};",
            f"uwsgi_temp_path {temp / 'uwsgi'};",
            f"scgi_temp_path {temp / 'scgi'};",
        ],
        "upstream": upstream,
        "ws_open_rate": ws_open_rate_line(WS_OPEN_PER_WORKER * len(upstream)),
        # Idle HTTP connections to the workers go after 2 s, so that counting a worker's established TCP
        # connections (the ghosts check) soon counts its WebSockets only.
        "upstream_keepalive_timeout": "keepalive_timeout 2s;",
        "listen": f"listen 127.0.0.1:{port};",
        "server_name": "server_name 127.0.0.1 localhost;",
    }
    if debug_upstream_header:
        # Which worker took a WebSocket (read from the 101 response): test placement only, since it
        # shows internal addresses to clients.
        values["ws_debug"] = "add_header X-Upstream-Addr $upstream_addr always;"
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="comma-separated host:port of the workers")
    parser.add_argument("--listen", default=None, help="e.g. 80, or 127.0.0.1:8080")
    parser.add_argument("--server-name", default=None)
    parser.add_argument("--ws-open-rate", type=int, default=None,
                        help="WebSocket handshakes a second passed on to the workers (default: 100 per worker)")
    parser.add_argument("--template", default=str(TEMPLATE))
    args = parser.parse_args()
    upstream = [a for a in args.upstream.split(",") if a]
    values: dict[str, str | list[str] | None] = {
        "upstream": upstream,
        "ws_open_rate": ws_open_rate_line(args.ws_open_rate or WS_OPEN_PER_WORKER * len(upstream)),
    }
    if args.listen:
        values["listen"] = f"listen {args.listen};"
    if args.server_name:
        values["server_name"] = f"server_name {args.server_name};"
    sys.stdout.write(render(values, Path(args.template).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
