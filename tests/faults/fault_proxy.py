"""A fault-injecting HTTP reverse proxy for the tests: it forwards every request to one upstream server
(moto's S3 server, the fakesnow emulator) and, by rules set at run time, answers some requests itself with
a server error (S3's ``503 SlowDown`` / ``500 InternalError`` XML), resets the connection (TCP RST) before
or after the upstream handled the request, or delays them.

Run it as its own process (``python -m tests.faults.fault_proxy --upstream URL --port P``; stop it by its
pid) and drive it over HTTP:

- ``PUT /__faults__/rules`` with a JSON list of rules replaces the rules. A rule is
  ``{"action": "slowdown"|"internal_error"|"reset"|"reset_after"|"delay", "share": 0.1, "times": n,
  "method": "PUT", "path_contains": "/train/", "seconds": 0.2}``: it applies to requests whose method and
  path match (both optional), to a ``share`` of them (seeded, reproducible) or to the next ``times`` of them;
  the first rule that fires decides (``delay`` rules only wait, then later rules are still tried);
- ``GET /__faults__/stats`` returns the counts: requests forwarded, and faults injected per action.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL_PREFIX = "/__faults__"
ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "internal_error": (500, "InternalError", "We encountered an internal error. Please try again."),
}
ACTIONS = {*ERRORS, "reset", "reset_after", "delay"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
OWN_HEADERS = {"content-length", "date", "server"}  # the proxy sends its own


class FaultRules:
    """The current rules and counts, shared by the handler threads."""

    def __init__(self, seed: int = 0):
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.rules: list[dict] = []
        self.counts: dict[str, int] = {"forwarded": 0}

    def replace(self, rules: list[dict]) -> None:
        for rule in rules:
            if rule.get("action") not in ACTIONS:
                raise ValueError(f"unknown action in {rule}")
        with self.lock:
            self.rules = [dict(rule) for rule in rules]

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def stats(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def decide(self, method: str, path: str) -> list[dict]:
        """The rules that fire for this request: any ``delay`` rules, then at most one other action."""
        fired = []
        with self.lock:
            for rule in self.rules:
                if rule.get("method") and rule["method"] != method:
                    continue
                if rule.get("path_contains") and rule["path_contains"] not in path:
                    continue
                if "times" in rule:
                    if rule["times"] <= 0:
                        continue
                    rule["times"] -= 1
                elif self.random.random() >= rule.get("share", 1.0):
                    continue
                fired.append(rule)
                if rule["action"] != "delay":
                    break
        return fired


def error_body(code: str, message: str, path: str) -> bytes:
    """An S3 error document, as S3 sends it."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<Resource>{path}</Resource><RequestId>fault-proxy</RequestId></Error>"
    ).encode()


def make_handler(upstream: urllib.parse.SplitResult, rules: FaultRules) -> type[BaseHTTPRequestHandler]:
    class FaultyProxyHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's signature
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            expected = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(expected)
            if len(body) < expected:  # the client went away mid-request: S3 would store nothing
                raise ConnectionError(f"got {len(body)} of {expected} bytes")
            return body

        def _reset(self) -> None:
            """Close the connection with a TCP RST (SO_LINGER 0), as a dropped connection looks."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            length = str(len(body))
            for name, value in headers:
                if name.lower() == "content-length" and self.command == "HEAD":
                    length = value  # a HEAD answer has no body but tells the object's size
                elif name.lower() not in HOP_BY_HOP | OWN_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _control(self, body: bytes) -> None:
            if self.command == "PUT" and self.path == f"{CONTROL_PREFIX}/rules":
                rules.replace(json.loads(body or b"[]"))
                self._send(200, [("Content-Type", "application/json")], b"{}")
            else:
                payload = json.dumps(rules.stats()).encode()
                self._send(200, [("Content-Type", "application/json")], payload)

        def _handle(self) -> None:
            try:
                body = self._body()
            except (ConnectionError, ValueError):
                self.close_connection = True
                return
            if self.path.startswith(CONTROL_PREFIX):
                self._control(body)
                return
            after = False
            for rule in rules.decide(self.command, self.path):
                action = rule["action"]
                rules.count(action)
                if action == "delay":
                    time.sleep(rule.get("seconds", 0.1))
                elif action == "reset":
                    self._reset()
                    return
                elif action == "reset_after":
                    after = True
                else:
                    status, code, message = ERRORS[action]
                    headers = [("Content-Type", "application/xml"), ("Retry-After", "0")]
                    self._send(status, headers, error_body(code, message, self.path))
                    return
            upstream_connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=300)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                upstream_connection.request(self.command, self.path, body=body, headers=headers)
                response = upstream_connection.getresponse()
                data = response.read()
            finally:
                upstream_connection.close()
            rules.count("forwarded")
            if after:  # the upstream did the work, the client never hears of it
                self._reset()
                return
            self._send(response.status, response.getheaders(), data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return FaultyProxyHandler


def serve(upstream: str, port: int, seed: int = 0, host: str = "127.0.0.1") -> None:
    """Serve the proxy on ``host:port`` until killed (blocking)."""
    server = ThreadingHTTPServer(
        (host, port), make_handler(urllib.parse.urlsplit(upstream), FaultRules(seed))
    )
    server.daemon_threads = True
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    serve(arguments.upstream, arguments.port, arguments.seed)


if __name__ == "__main__":
    main()
