"""HTTP server answering GET / with its greeting (from --config), $GREETER_MESSAGE, version and process id.

Listens on the socket systemd passes (LISTEN_FDS, LISTEN_PID; sd_listen_fds(3)) when there is one, else binds
--bind host:port itself, as gunicorn does.
"""

import argparse
import http.server
import os
import socket
import sys

from greeter import __version__

SD_LISTEN_FDS_START = 3


def read_greeting(path):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, sep, value = line.partition("=")
                if sep and key.strip() == "greeting":
                    return value.strip()
    except OSError as e:
        print(f"greeter: cannot read {path}: {e}", file=sys.stderr)
    return "hello"


def systemd_socket():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    if int(os.environ.get("LISTEN_FDS", "0")) < 1:
        return None
    return socket.socket(fileno=SD_LISTEN_FDS_START)


def record_request():
    """Count the request in the state directory and log it in the logs directory systemd gives the service
    (StateDirectory=, LogsDirectory=; $STATE_DIRECTORY, $LOGS_DIRECTORY), so a service that cannot write there
    fails its requests. Without systemd's directories nothing is written."""
    state, logs = os.environ.get("STATE_DIRECTORY"), os.environ.get("LOGS_DIRECTORY")
    if not state or not logs:
        return b""
    path = os.path.join(state, "requests")
    with open(path, "a", encoding="utf-8") as f:
        f.write("GET /\n")
    with open(os.path.join(logs, "access.log"), "a", encoding="utf-8") as f:
        f.write(f"pid {os.getpid()} GET /\n")
    with open(path, encoding="utf-8") as f:
        count = sum(1 for _ in f)
    return f"state {path} requests {count}\n".encode()


class Server(http.server.HTTPServer):
    def __init__(self, handler, sock=None, address=None):
        if sock is None:
            super().__init__(address, handler)
            return
        super().__init__(sock.getsockname(), handler, bind_and_activate=False)
        self.socket = sock


def main(argv=None):
    parser = argparse.ArgumentParser(prog="greeter")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port when systemd passes no socket")
    parser.add_argument("--config", default="/etc/greeter/app.conf")
    args = parser.parse_args(argv)
    greeting = read_greeting(args.config)
    message = os.environ.get("GREETER_MESSAGE", "-")
    body = f"{greeting}\nmessage {message}\ngreeter {__version__} pid {os.getpid()}\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, answer = 200, body
            try:
                answer += record_request()
            except OSError as e:
                status, answer = 500, f"greeter: {e}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):
            sys.stderr.write("greeter: " + (format % args) + "\n")

    sock = systemd_socket()
    if sock is not None:
        server = Server(Handler, sock=sock)
    else:
        host, _, port = args.bind.rpartition(":")
        Server.allow_reuse_address = True
        server = Server(Handler, address=(host, int(port)))
    print(f"greeter {__version__} listening on {server.server_address}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
