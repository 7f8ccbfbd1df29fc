"""The emulator's HTTP front: Tencent Cloud API 3.0 requests and answers over a real HTTP server.

API, as Tencent accepts it: TC3-HMAC-SHA256 signed requests, ``POST`` with a JSON (or form) body
(parameters in a POST's query string are ignored, as Tencent documents) or ``GET`` with the
parameters flattened in the query string (``Filters.0.Values.0=...``, as the SDKs send them; the
signature covers the query). Bodies up to 10 MB, GET requests up to 32 KB (Tencent's limits:
``RequestSizeLimitExceeded`` beyond). Every answer is HTTP 200 with Tencent's JSON envelope, errors
included (malformed HTTP, other methods, unknown paths: never an HTML page), and every request, rejected
or not, is in the request log.

The version header picks the service: 2017-03-12 the VPC (actions.py), 2018-08-13 STS (sts.py).
Also served, to loopback clients only: the lab's admin endpoints (/_lab/..., lab_routes.py) and a
CVM's instance metadata (/latest/meta-data/cam/security-credentials/..., sts.py).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import logging
import re
import socket
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import lab_routes, sts
from .actions import MUTATING, ApiError, Vpc
from .faults import Dropped, Faults, RateLimiter, inject
from .request_log import Calls, RequestLog, scrub
from .signature import AuthError, KeyRing, verify

API_VERSION = "2017-03-12"
MAX_BODY = 10 << 20  # "POST requests signed with TC3-HMAC-SHA256 support up to 10 MB"
MAX_GET = 32 << 10  # "GET requests support up to 32 KB"
# GET carries every value as text; these parameters are numbers or booleans in the API's models.
INT_PARAMS = frozenset({"Limit", "Offset", "AddressCount", "InternetMaxBandwidthOut", "TaskId", "DurationSeconds"})
BOOL_PARAMS = frozenset({"CheckAssociate"})
_INDEX = re.compile(r"^\d+$")
log = logging.getLogger("havip.emulator")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, vpc: Vpc, keys: KeyRing, clock=time.time, roles=sts.DEFAULT_ROLES):
        super().__init__(address, Handler)
        self.vpc = vpc
        self.keys = keys
        self.clock = clock
        self.sts = sts.Sts(keys, roles, clock=clock)
        self.faults = Faults()
        self.rate_limiter = RateLimiter()
        self.calls = Calls()
        self.log = RequestLog()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def service(self, version: str | None):
        """(signing service name, actions object) of an API version, or None."""
        return {API_VERSION: ("vpc", self.vpc), sts.API_VERSION: (sts.SERVICE, self.sts)}.get(version or "")


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """``[("Filters.0.Name", "vpc-id"), ("Filters.0.Values.0", "vpc-1"), ("Limit", "10")]`` ->
    ``{"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}], "Limit": 10}``: the SDKs' GET encoding
    undone, numbers and booleans of the models restored (a bad one stays text: the action refuses it)."""
    tree: dict = {}
    for key, value in pairs:
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ApiError("InvalidParameter", f"The parameter `{key}` conflicts with another one.")
        if parts[-1] in node:
            raise ApiError("InvalidParameter", f"The parameter `{key}` is given twice.")
        node[parts[-1]] = _typed(parts[-1], value)
    return _lists(tree, "")


def _typed(name: str, value: str):
    if name in INT_PARAMS and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if name in BOOL_PARAMS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _lists(node, where: str):
    if not isinstance(node, dict):
        return node
    if node and all(_INDEX.match(k) for k in node):
        indexes = sorted(int(k) for k in node)
        if indexes != list(range(len(indexes))):
            raise ApiError("InvalidParameter", f"The list `{where}` has missing indexes.")
        return [_lists(node[str(i)], f"{where}.{i}") for i in indexes]
    return {k: _lists(v, f"{where}.{k}".lstrip(".")) for k, v in node.items()}


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (no Nagle/delayed-ACK stall); flushed per request
    _fault: str | None = None

    def log_message(self, format, *args):
        log.debug("%s %s", self.client_address[0], format % args)

    # --- plumbing ------------------------------------------------------------------------------------
    def _send(self, status: int, payload, content_type: str = "application/json") -> None:
        body = payload.encode("utf-8") if isinstance(payload, str) else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (malformed request line, header too long, unknown method)
        answered as Tencent does: its JSON error, never an HTML page; logged like any request."""
        self.close_connection = True
        if not hasattr(self, "headers"):  # the request line itself was bad: no headers were read
            self.headers = {}
        self.command = getattr(self, "command", None) or "GET"
        self.path = getattr(self, "path", None) or "/"
        api_code = "RequestSizeLimitExceeded" if code in (413, 414, 431) else "UnsupportedProtocol"
        self._answer_error(api_code, f"The HTTP request was refused ({code} {message or ''}).".replace(" )", ")"),
                           str(uuid.uuid4()), time.monotonic(), b"")

    def _is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def do_GET(self):
        path = self.path.partition("?")[0]
        if path.startswith("/_lab/"):
            return self._admin("GET", b"")
        if path.startswith(sts.METADATA_PREFIX):
            return self._metadata(path)
        return self._api()

    def do_POST(self):
        if self.path.startswith("/_lab/"):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                return self._send(413, {"error": "request body too large"})
            return self._admin("POST", self.rfile.read(length) if length else b"")
        return self._api()

    def _unsupported(self):
        self.close_connection = True
        self._answer_error("UnsupportedProtocol", f"The HTTP method {self.command} is not supported: GET or POST.",
                           str(uuid.uuid4()), time.monotonic(), b"")

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _unsupported

    # --- the API ------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError("UnsupportedProtocol", "The Content-Length header is not a number.") from None
        if length > MAX_BODY:
            self.close_connection = True  # the body is left unread
            raise ApiError("RequestSizeLimitExceeded", f"The request body exceeds {MAX_BODY >> 20} MB.")
        return self.rfile.read(length) if length > 0 else b""

    def _api(self) -> None:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        action = self.headers.get("X-TC-Action") or ""
        self._fault = None
        body = b""
        try:
            body = self._read_body()
            result = self._handle(action, body, request_id)
        except (AuthError, ApiError) as exc:
            return self._answer_error(exc.code, exc.message, request_id, started, body)
        except Dropped as dropped:
            return self._drop(request_id, started, body, dropped.after)
        except Exception:  # a bug in the emulator: answer like the cloud does, log the trace
            log.exception("internal error in %s", action)
            return self._answer_error("InternalError", "An internal error occurred.", request_id, started, body)
        request_id = result.pop("RequestId", None) or request_id
        self._record("OK", request_id, started, body)
        self._send(200, {"Response": {**result, "RequestId": request_id}})

    def _answer_error(self, code: str, message: str, request_id: str, started: float, body: bytes) -> None:
        self._record(code, request_id, started, body)
        self._send(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})

    def _drop(self, request_id: str, started: float, body: bytes, after: float) -> None:
        self._record("dropped", request_id, started, body)
        if after:
            time.sleep(after)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _record(self, outcome: str, request_id: str, started: float, body: bytes) -> None:
        elapsed = (time.monotonic() - started) * 1000
        action = self.headers.get("X-TC-Action") or ""
        log.info("%s %s %s %.0fms", action or "-", outcome, request_id, elapsed)
        self.server.log.record(time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), action=action,
                               region=self.headers.get("X-TC-Region") or "", method=self.command,
                               params=self._params_for_log(body), outcome=outcome, fault=self._fault,
                               request_id=request_id, mutating=action in MUTATING, ms=round(elapsed, 1))

    def _params(self, body: bytes) -> dict:
        """The request's parameters: GET from the query string, POST from the body (JSON or form)."""
        if self.command == "GET":
            return unflatten(urllib.parse.parse_qsl(self.path.partition("?")[2], keep_blank_values=True))
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            return unflatten(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body must be a JSON object.")
        return params

    def _params_for_log(self, body: bytes):
        try:
            return scrub(self._params(body))
        except ApiError:
            return "(not parseable)"

    def _handle(self, action: str, body: bytes, request_id: str) -> dict:
        """Check the request (size, signature, version, action, region, rate), then run it with the
        fault drawn for it (faults.py), counted in the calls."""
        name, actions = self._admit(action, body)
        params = self._params(body)
        latency, fault, drop_after = self.server.faults.take(action)
        self.server.calls.record(action, fault)
        self._fault = fault
        if name == "vpc":
            run = functools.partial(self.server.vpc.dispatch, action, params, request_id)
        else:
            run = functools.partial(getattr(actions, "action_" + action), params)
        return inject(action, run, latency, fault, drop_after)

    def _admit(self, action: str, body: bytes):
        """(service name, its actions) of an acceptable request, or the ApiError/AuthError refusing it."""
        if self.command == "GET" and len(self.path) > MAX_GET:
            raise ApiError("RequestSizeLimitExceeded", f"A GET request may not exceed {MAX_GET >> 10} KB.")
        service = self.server.service(self.headers.get("X-TC-Version"))
        path, _sep, query = self.path.partition("?")
        key = verify(self.server.keys, service[0] if service else "vpc", method=self.command, uri=path,
                     query=query if self.command == "GET" else "", headers=self.headers, body=body,
                     now=self.server.clock())
        if not action:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Action header.")
        if service is None:
            raise ApiError("NoSuchVersion", f"The API version must be {API_VERSION} (vpc) or {sts.API_VERSION} (sts).")
        name, actions = service
        if not hasattr(actions, "action_" + action):
            self.server.calls.record(action, None)
            raise ApiError("InvalidAction", f"The action `{action}` does not exist in {name}.")
        region = self.headers.get("X-TC-Region")
        if name == "vpc":
            if not region:
                raise ApiError("MissingParameter", "The request is missing the region (X-TC-Region).")
            if region != self.server.vpc.region:
                raise ApiError("UnsupportedRegion", f"The region `{region}` is not served by this emulator "
                                                    f"(it emulates `{self.server.vpc.region}`).")
        if not self.server.rate_limiter.allow(key.secret_id, action):
            self._fault = "rate_limit"
            self.server.calls.record(action, "rate_limit")
            raise ApiError("RequestLimitExceeded", f"Your requests of {action} exceed the per-second limit "
                                                   f"({self.server.rate_limiter.limit(action)}).")
        return name, actions

    # --- loopback-only endpoints -----------------------------------------------------------------------
    def _admin(self, method: str, body: bytes) -> None:
        if not self._is_loopback():
            return self._send(403, {"error": "lab endpoints are served to loopback clients only"})
        path, _sep, query = self.path.partition("?")
        handler = lab_routes.ROUTES.get((method, path.rstrip("/")))
        if handler is None:
            return self._send(404, {"error": f"no lab endpoint {method} {self.path}"})
        try:
            spec = json.loads(body) if body else dict(urllib.parse.parse_qsl(query))
            return self._send(200, handler(self.server, spec))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return self._send(400, {"error": str(exc)})

    def _metadata(self, path: str) -> None:
        if not self._is_loopback():
            return self._send(403, "Forbidden", "text/plain")
        status, content_type, body = self.server.sts.metadata(path)
        return self._send(status, body, content_type)


def serve_in_thread(server: EmulatorServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="havip-emulator",
                              daemon=True)
    thread.start()
    return thread
