"""Tiny HTTP service for the lab nodes: answers every GET with this node's hostname.

The failover probe requests the VIP through it, so an answer proves that a user-space process on
the node holding the VIP serves (ICMP alone is answered by a paused kernel too; see docs/lab.md).
"""
import argparse
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WhoAmI(BaseHTTPRequestHandler):
    body = (socket.gethostname() + "\n").encode()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format, *args):
        pass  # one request every 20 ms: keep the journal quiet


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 - it must answer on the VIP
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer((args.bind, args.port), WhoAmI).serve_forever()


if __name__ == "__main__":
    main()
