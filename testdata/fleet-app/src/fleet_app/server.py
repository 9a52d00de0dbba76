"""HTTP server answering GET / with its greeting and version.

Serves on the socket systemd passes (LISTEN_FDS, LISTEN_PID; sd_listen_fds(3)) when there is one, else binds
--bind host:port itself. --check reads the configuration and exits, for health checks without a running server.
"""

import argparse
import http.server
import os
import socket
import sys

from fleet_app import __version__


def read_greeting(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep and key.strip() == "greeting":
                return value.strip()
    raise ValueError(f"{path}: no greeting = ... line")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fleet-app")
    parser.add_argument("--bind", default="127.0.0.1:8000")
    parser.add_argument("--config", default="/etc/fleet-app/app.conf")
    parser.add_argument("--check", action="store_true", help="print the version and greeting, then exit")
    args = parser.parse_args(argv)
    try:
        greeting = read_greeting(args.config)
    except (OSError, ValueError) as e:
        print(f"fleet-app: {e}", file=sys.stderr)
        return 1
    body = f"{greeting}\nfleet-app {__version__}\n".encode()
    if args.check:
        sys.stdout.buffer.write(body)
        return 0

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    if os.environ.get("LISTEN_PID") == str(os.getpid()) and int(os.environ.get("LISTEN_FDS", "0")) >= 1:
        sock = socket.socket(fileno=3)
        server = http.server.HTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
        server.socket = sock
    else:
        host, _, port = args.bind.rpartition(":")
        server = http.server.HTTPServer((host, int(port)), Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
