"""The emulator's HTTP front: Tencent Cloud API 3.0 envelopes over a real HTTP server.

API: ``POST /`` with a JSON body and the X-TC-* headers, signed with TC3-HMAC-SHA256.
Every answer is HTTP 200 with ``Content-Type: application/json`` (the SDK only parses errors out
of that content type) and carries a RequestId.

Lab admin endpoints (not signed; answered only to loopback clients):

- ``GET  /_lab/calls``            calls per action, mutating vs read; ``POST /_lab/calls/reset``
- ``GET|POST /_lab/faults``       ``{"throttle": N, "internal_error": N, "latency": seconds,
                                  "actions": [names]}``: the next N calls (of those actions) fail
- ``POST /_lab/config``           ``{"task_delay": seconds}``
- ``POST /_lab/announce``         ``{"vip": ..., "mac": ... | "instance_id": ...}``: a gratuitous ARP
- ``POST /_lab/instances``        ``[{"InstanceId": ..., "MacAddress": ..., "PrivateIpAddress": ...}]``
- ``GET  /_lab/health``
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .actions import MUTATING, ApiError, Vpc
from .signature import AuthError, KeyRing, verify

SERVICE = "vpc"
API_VERSION = "2017-03-12"
MAX_BODY = 1 << 20
log = logging.getLogger("havip.emulator")


class Faults:
    """Faults to inject into the next calls; changed at run time through /_lab/faults."""

    def __init__(self):
        self._lock = threading.Lock()
        self.throttle = 0
        self.internal_error = 0
        self.latency = 0.0
        self.actions: set[str] = set()

    def configure(self, spec: dict) -> dict:
        with self._lock:
            for name in ("throttle", "internal_error"):
                if name in spec:
                    value = spec[name]
                    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                        raise ValueError(f"{name} must be a non-negative integer")
                    setattr(self, name, value)
            if "latency" in spec:
                latency = spec["latency"]
                if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency <= 60:
                    raise ValueError("latency must be a number of seconds within [0, 60]")
                self.latency = float(latency)
            if "actions" in spec:
                actions = spec["actions"] or []
                if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                    raise ValueError("actions must be a list of action names")
                self.actions = set(actions)
            return self.snapshot()

    def snapshot(self) -> dict:
        return {"throttle": self.throttle, "internal_error": self.internal_error, "latency": self.latency,
                "actions": sorted(self.actions)}

    def take(self, action: str) -> tuple[float, str | None]:
        """The latency to add and the error code to answer with (None: answer normally)."""
        with self._lock:
            if self.actions and action not in self.actions:
                return 0.0, None
            if self.throttle > 0:
                self.throttle -= 1
                return self.latency, "RequestLimitExceeded"
            if self.internal_error > 0:
                self.internal_error -= 1
                return self.latency, "InternalError"
            return self.latency, None


class Calls:
    """Counts API calls per action (every authenticated call, faulted or not)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_action: collections.Counter = collections.Counter()
        self._faults: collections.Counter = collections.Counter()

    def record(self, action: str, fault: str | None) -> None:
        with self._lock:
            self._by_action[action] += 1
            if fault:
                self._faults[fault] += 1

    def reset(self) -> None:
        with self._lock:
            self._by_action.clear()
            self._faults.clear()

    def snapshot(self) -> dict:
        with self._lock:
            mutating = sum(n for a, n in self._by_action.items() if a in MUTATING)
            total = sum(self._by_action.values())
            return {"total": total, "mutating": mutating, "read": total - mutating,
                    "by_action": dict(sorted(self._by_action.items())), "faults": dict(sorted(self._faults.items()))}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, vpc: Vpc, keys: KeyRing, clock=time.time):
        super().__init__(address, Handler)
        self.vpc = vpc
        self.keys = keys
        self.clock = clock
        self.faults = Faults()
        self.calls = Calls()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # headers and body leave in one write (no Nagle/delayed-ACK stall); flushed per request

    def log_message(self, format, *args):
        log.debug("%s %s", self.client_address[0], format % args)

    # --- plumbing ------------------------------------------------------------------------------------
    def _send(self, status: int, payload) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError("InvalidParameter", "The request body is too large.")
        return self.rfile.read(length) if length else b""

    def _is_loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def do_GET(self):
        if self.path.startswith("/_lab/"):
            return self._admin("GET", b"")
        return self._send(404, {"error": "POST / for the API, /_lab/... for the lab"})

    def do_POST(self):
        try:
            body = self._body()
        except (ValueError, ApiError):
            return self._send(400, {"error": "bad request body"})
        if self.path.startswith("/_lab/"):
            return self._admin("POST", body)
        return self._api(body)

    # --- the API ------------------------------------------------------------------------------------
    def _api(self, body: bytes) -> None:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        action = self.headers.get("X-TC-Action") or ""
        code, message, result = None, "", None
        try:
            path, _sep, query = self.path.partition("?")
            verify(self.server.keys, SERVICE, method=self.command, uri=path, query=query, headers=self.headers,
                   body=body, now=self.server.clock())
            result = self._handle(action, body)
        except AuthError as exc:
            code, message = exc.code, exc.message
        except ApiError as exc:
            code, message = exc.code, exc.message
        except Exception:  # a bug in the emulator: answer like the cloud does, log the trace
            log.exception("internal error in %s", action)
            code, message = "InternalError", "An internal error occurred."
        if code is None:
            request_id = result.pop("RequestId", None) or request_id
            payload = {"Response": {**result, "RequestId": request_id}}
        else:
            payload = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}
        log.info("%s %s %s %.0fms", action or "-", code or "OK", request_id, (time.monotonic() - started) * 1000)
        self._send(200, payload)

    def _handle(self, action: str, body: bytes) -> dict:
        if not action:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Action header.")
        if not hasattr(self.server.vpc, "action_" + action):
            self.server.calls.record(action, None)
            raise ApiError("InvalidAction", f"The action `{action}` does not exist.")
        if self.headers.get("X-TC-Version") != API_VERSION:
            raise ApiError("NoSuchVersion", f"The API version must be {API_VERSION} for the vpc service.")
        region = self.headers.get("X-TC-Region")
        if not region:
            raise ApiError("MissingParameter", "The request is missing the region (X-TC-Region).")
        if region != self.server.vpc.region:
            raise ApiError("UnsupportedRegion", f"The region `{region}` is not served by this emulator "
                                                f"(it emulates `{self.server.vpc.region}`).")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
        latency, fault = self.server.faults.take(action)
        self.server.calls.record(action, fault)
        if latency:
            time.sleep(latency)
        if fault == "RequestLimitExceeded":
            raise ApiError(fault, "Your current request times exceeds the limit (lab fault injection).")
        if fault == "InternalError":
            raise ApiError(fault, "An internal error occurred (lab fault injection).")
        return self.server.vpc.dispatch(action, params)

    # --- the lab's admin endpoints ---------------------------------------------------------------------
    def _admin(self, method: str, body: bytes) -> None:
        if not self._is_loopback():
            return self._send(403, {"error": "lab endpoints are served to loopback clients only"})
        handler = _ADMIN_ROUTES.get((method, self.path.split("?")[0].rstrip("/")))
        if handler is None:
            return self._send(404, {"error": f"no lab endpoint {method} {self.path}"})
        try:
            spec = json.loads(body) if body else {}
            return self._send(200, handler(self.server, spec))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return self._send(400, {"error": str(exc)})


def _admin_config(server: EmulatorServer, spec) -> dict:
    delay = _object(spec).get("task_delay")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
        raise ValueError("task_delay must be a number of seconds within [0, 600]")
    server.vpc.task_delay = float(delay)
    return {"task_delay": server.vpc.task_delay}


def _admin_announce(server: EmulatorServer, spec) -> dict:
    spec = _object(spec)
    if not isinstance(spec.get("vip"), str) or not (spec.get("mac") or spec.get("instance_id")):
        raise ValueError("announce needs 'vip' and one of 'mac' or 'instance_id'")
    result = server.vpc.announce(spec["vip"], mac=spec.get("mac"), instance_id=spec.get("instance_id"))
    log.info("announce %s from %s: %s", spec["vip"], spec.get("mac") or spec.get("instance_id"), result)
    return result


def _admin_instances(server: EmulatorServer, spec) -> dict:
    updated = []
    for item in spec if isinstance(spec, list) else [spec]:
        entry = _object(item)
        if not server.vpc.store.set_instance(entry.get("InstanceId", ""), mac=entry.get("MacAddress"),
                                             private_ip=entry.get("PrivateIpAddress")):
            raise ValueError(f"unknown instance {entry.get('InstanceId')!r}")
        updated.append(entry["InstanceId"])
    return {"updated": updated}


def _admin_reset_calls(server: EmulatorServer, _spec) -> dict:
    server.calls.reset()
    return server.calls.snapshot()


_ADMIN_ROUTES = {
    ("GET", "/_lab/health"): lambda server, _spec: {"ok": True, "region": server.vpc.region},
    ("GET", "/_lab/calls"): lambda server, _spec: server.calls.snapshot(),
    ("POST", "/_lab/calls/reset"): _admin_reset_calls,
    ("GET", "/_lab/faults"): lambda server, _spec: server.faults.snapshot(),
    ("POST", "/_lab/faults"): lambda server, spec: server.faults.configure(_object(spec)),
    ("POST", "/_lab/config"): _admin_config,
    ("POST", "/_lab/announce"): _admin_announce,
    ("POST", "/_lab/instances"): _admin_instances,
}


def _object(value) -> dict:
    if not isinstance(value, dict):
        raise ValueError("a JSON object is expected")
    return value


def serve_in_thread(server: EmulatorServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="havip-emulator",
                              daemon=True)
    thread.start()
    return thread
