"""The emulator's HTTP front: Tencent Cloud API 3.0 envelopes over a real HTTP server.

API: ``POST /`` with a JSON body and the X-TC-* headers, signed with TC3-HMAC-SHA256.
Every answer is HTTP 200 with ``Content-Type: application/json`` (the SDK only parses errors out
of that content type) and carries a RequestId.

Lab admin endpoints (not signed; answered only to loopback clients):

- ``GET  /_lab/calls``            calls per action, mutating vs read; ``POST /_lab/calls/reset``
- ``GET|POST /_lab/faults``       ``{"throttle": N, "internal_error": N, "latency": seconds,
                                  "actions": [names]}``: the next N calls (of those actions) fail;
                                  rates: ``throttle_rate``, ``internal_error_rate``, ``lost_rate``,
                                  ``slow_rate``, ``per_action``, ``seed`` (see Faults);
                                  ``POST /_lab/faults/reset`` clears them all
- ``GET  /_lab/log?since=SEQ&action=NAME``  the request log (parameters minus secrets, outcome);
                                  ``POST /_lab/log/reset``
- ``GET|POST /_lab/config``       ``{"task_delay": seconds, "switch_delay": seconds}``
- ``POST /_lab/announce``         ``{"vip": ..., "mac": ... | "instance_id": ...}``: a gratuitous ARP
- ``POST /_lab/instances``        ``[{"InstanceId": ..., "MacAddress": ..., "PrivateIpAddress": ...}]``
- ``GET  /_lab/health``
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import random
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .actions import MUTATING, ApiError, Vpc
from .signature import AuthError, KeyRing, verify

SERVICE = "vpc"
API_VERSION = "2017-03-12"
MAX_BODY = 1 << 20
log = logging.getLogger("havip.emulator")


class Faults:
    """Faults to inject into calls; changed at run time through /_lab/faults.

    Two kinds, for the calls of ``actions`` (all actions when empty):

    - counted: the next ``throttle`` calls answer ``RequestLimitExceeded``, then the next
      ``internal_error`` calls ``InternalError``;
    - random, by rate in [0, 1]: ``throttle_rate`` (RequestLimitExceeded before the action runs),
      ``internal_error_rate`` (InternalError before it runs), ``lost_rate`` (the action *runs*, then
      the answer is an InternalError: what a client that retries without a ClientToken gets wrong),
      ``slow_rate`` (the share of calls that get ``latency`` seconds added; 1 by default).

    ``per_action`` maps an action name to its own rates (and latency), which replace the global ones
    for that action: ``{"CreateHaVip": {"throttle_rate": 0.5}}``. ``seed`` makes the draws
    reproducible. Counted faults come first; a call draws its random faults only when none is due.
    """

    RATES = ("throttle_rate", "internal_error_rate", "lost_rate", "slow_rate")

    def __init__(self, seed=None):
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 - fault draws, not cryptography
        self.throttle = 0
        self.internal_error = 0
        self.latency = 0.0
        self.actions: set[str] = set()
        self.rates = self._default_rates()
        self.per_action: dict[str, dict] = {}

    @staticmethod
    def _default_rates() -> dict:
        return {"throttle_rate": 0.0, "internal_error_rate": 0.0, "lost_rate": 0.0, "slow_rate": 1.0}

    @classmethod
    def _parse_rates(cls, spec: dict, base: dict, where: str) -> dict:
        rates = dict(base)
        for name in cls.RATES:
            if name in spec:
                value = spec[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise ValueError(f"{where}{name} must be a number within [0, 1]")
                rates[name] = float(value)
        if "latency" in spec:
            rates["latency"] = cls._parse_latency(spec["latency"], where)
        return rates

    @staticmethod
    def _parse_latency(value, where: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 60:
            raise ValueError(f"{where}latency must be a number of seconds within [0, 60]")
        return float(value)

    def configure(self, spec: dict) -> dict:
        with self._lock:
            counts = {}
            for name in ("throttle", "internal_error"):
                if name in spec:
                    value = spec[name]
                    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                        raise ValueError(f"{name} must be a non-negative integer")
                    counts[name] = value
            latency = self._parse_latency(spec["latency"]) if "latency" in spec else self.latency
            rates = self._parse_rates(spec, self.rates, "")
            actions = self.actions
            if "actions" in spec:
                actions = spec["actions"] or []
                if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                    raise ValueError("actions must be a list of action names")
                actions = set(actions)
            per_action = self.per_action
            if "per_action" in spec:
                given = spec["per_action"] or {}
                if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
                    raise ValueError("per_action must map action names to objects of rates")
                per_action = {action: self._parse_rates(item, self._default_rates(), f"per_action.{action}.")
                              for action, item in given.items()}
            if "seed" in spec:
                if spec["seed"] is not None and (isinstance(spec["seed"], bool) or not isinstance(spec["seed"], int)):
                    raise ValueError("seed must be an integer or null")
                self._random.seed(spec["seed"])
            # Everything is valid: apply it at once.
            for name, value in counts.items():
                setattr(self, name, value)
            self.latency, self.rates, self.actions, self.per_action = latency, rates, actions, per_action
            return self._snapshot()

    def reset(self) -> dict:
        with self._lock:
            self.throttle = self.internal_error = 0
            self.latency = 0.0
            self.actions = set()
            self.rates = self._default_rates()
            self.per_action = {}
            return self._snapshot()

    def snapshot(self) -> dict:
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> dict:
        return {"throttle": self.throttle, "internal_error": self.internal_error, "latency": self.latency,
                "actions": sorted(self.actions), **self.rates,
                "per_action": {a: dict(r) for a, r in sorted(self.per_action.items())}}

    def take(self, action: str) -> tuple[float, str | None]:
        """The latency to add and the fault to answer with: None (answer normally),
        "RequestLimitExceeded" or "InternalError" (fail before the action runs), or "lost" (run the
        action, then answer InternalError)."""
        with self._lock:
            in_scope = not self.actions or action in self.actions
            if action in self.per_action:
                rates = self.per_action[action]
                latency = rates.get("latency", self.latency)
            elif in_scope:
                rates, latency = self.rates, self.latency
            else:
                return 0.0, None
            if latency and self._random.random() >= rates["slow_rate"]:
                latency = 0.0
            if in_scope and self.throttle > 0:
                self.throttle -= 1
                return latency, "RequestLimitExceeded"
            if in_scope and self.internal_error > 0:
                self.internal_error -= 1
                return latency, "InternalError"
            draw = self._random.random()
            for name, fault in (("throttle_rate", "RequestLimitExceeded"), ("internal_error_rate", "InternalError"),
                                ("lost_rate", "lost")):
                if draw < rates[name]:
                    return latency, fault
                draw -= rates[name]
            return latency, None


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


SECRET_WORDS = ("secret", "password", "passwd", "token", "credential", "privatekey")
NOT_SECRET = frozenset({"clienttoken"})  # an idempotency key, not a credential


def scrub(value):
    """``value`` with every secret-looking field (by name) replaced by "********"."""
    if isinstance(value, dict):
        return {k: "********" if _secret_name(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _secret_name(name) -> bool:
    folded = str(name).lower().replace("_", "").replace("-", "")
    return folded not in NOT_SECRET and any(word in folded for word in SECRET_WORDS)


class RequestLog:
    """The last ``size`` API requests: action, parameters minus secrets, outcome, injected fault.

    Every request that reaches ``POST /`` is logged, rejected ones (bad signature...) included;
    ``seq`` grows by one per entry so that readers can ask for what came after a point."""

    def __init__(self, size: int = 10000):
        self._lock = threading.Lock()
        self._entries: collections.deque = collections.deque(maxlen=size)
        self._seq = 0

    def record(self, **entry) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self, since: int = 0, action: str | None = None) -> dict:
        with self._lock:
            entries = [dict(e) for e in self._entries if e["seq"] > since and (action is None or e["action"] == action)]
            return {"last_seq": self._seq, "entries": entries}


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
        self.log = RequestLog()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    _fault: str | None = None
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
        self._fault = None
        try:
            path, _sep, query = self.path.partition("?")
            verify(self.server.keys, SERVICE, method=self.command, uri=path, query=query, headers=self.headers,
                   body=body, now=self.server.clock())
            result = self._handle(action, body, request_id)
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
        elapsed = (time.monotonic() - started) * 1000
        log.info("%s %s %s %.0fms", action or "-", code or "OK", request_id, elapsed)
        self.server.log.record(time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), action=action,
                               region=self.headers.get("X-TC-Region") or "", params=_params_for_log(body),
                               outcome=code or "OK", fault=self._fault, request_id=request_id,
                               mutating=action in MUTATING, ms=round(elapsed, 1))
        self._send(200, payload)

    def _handle(self, action: str, body: bytes, request_id: str) -> dict:
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
        self._fault = fault
        if latency:
            time.sleep(latency)
        if fault == "RequestLimitExceeded":
            raise ApiError(fault, "Your current request times exceeds the limit (lab fault injection).")
        if fault == "InternalError":
            raise ApiError(fault, "An internal error occurred (lab fault injection).")
        result = self.server.vpc.dispatch(action, params, request_id)
        if fault == "lost":  # the action ran; its answer is lost on the way back
            raise ApiError("InternalError", "An internal error occurred (lab fault injection: the action ran).")
        return result

    # --- the lab's admin endpoints ---------------------------------------------------------------------
    def _admin(self, method: str, body: bytes) -> None:
        if not self._is_loopback():
            return self._send(403, {"error": "lab endpoints are served to loopback clients only"})
        path, _sep, query = self.path.partition("?")
        handler = _ADMIN_ROUTES.get((method, path.rstrip("/")))
        if handler is None:
            return self._send(404, {"error": f"no lab endpoint {method} {self.path}"})
        try:
            spec = json.loads(body) if body else dict(urllib.parse.parse_qsl(query))
            return self._send(200, handler(self.server, spec))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return self._send(400, {"error": str(exc)})


def _admin_config(server: EmulatorServer, spec) -> dict:
    spec = _object(spec)
    known = {"task_delay", "switch_delay"}
    if not spec or set(spec) - known:
        raise ValueError(f"config takes {sorted(known)}")
    for name in sorted(spec):
        delay = spec[name]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
            raise ValueError(f"{name} must be a number of seconds within [0, 600]")
    for name in sorted(spec):
        setattr(server.vpc, name, float(spec[name]))
    return _admin_config_view(server)


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


def _admin_config_view(server: EmulatorServer) -> dict:
    return {"task_delay": server.vpc.task_delay, "switch_delay": server.vpc.switch_delay}


def _admin_log(server: EmulatorServer, spec) -> dict:
    since = spec.get("since", "0")
    if not str(since).isdigit():
        raise ValueError("since must be a non-negative integer (a seq of the log)")
    return server.log.snapshot(since=int(since), action=spec.get("action") or None)


def _admin_reset_log(server: EmulatorServer, _spec) -> dict:
    server.log.reset()
    return server.log.snapshot()


def _admin_reset_calls(server: EmulatorServer, _spec) -> dict:
    server.calls.reset()
    return server.calls.snapshot()


_ADMIN_ROUTES = {
    ("GET", "/_lab/health"): lambda server, _spec: {"ok": True, "region": server.vpc.region},
    ("GET", "/_lab/calls"): lambda server, _spec: server.calls.snapshot(),
    ("POST", "/_lab/calls/reset"): _admin_reset_calls,
    ("GET", "/_lab/faults"): lambda server, _spec: server.faults.snapshot(),
    ("POST", "/_lab/faults"): lambda server, spec: server.faults.configure(_object(spec)),
    ("POST", "/_lab/faults/reset"): lambda server, _spec: server.faults.reset(),
    ("GET", "/_lab/log"): _admin_log,
    ("POST", "/_lab/log/reset"): _admin_reset_log,
    ("GET", "/_lab/config"): lambda server, _spec: _admin_config_view(server),
    ("POST", "/_lab/config"): _admin_config,
    ("POST", "/_lab/announce"): _admin_announce,
    ("POST", "/_lab/instances"): _admin_instances,
}


def _params_for_log(body: bytes):
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return "(not JSON)"
    return scrub(params)


def _object(value) -> dict:
    if not isinstance(value, dict):
        raise ValueError("a JSON object is expected")
    return value


def serve_in_thread(server: EmulatorServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="havip-emulator",
                              daemon=True)
    thread.start()
    return thread
