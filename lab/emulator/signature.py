"""TC3-HMAC-SHA256 verification, as Tencent Cloud's API gateway does it.

The canonical request is rebuilt exactly the way the SDK builds it
(tencentcloud/common/abstract_client.py, ``_build_req_with_tc3_signature`` and
``_get_tc3_signature``): method, URI, query (empty for POST), ``content-type:..\\nhost:..\\n``,
``content-type;host``, and the SHA-256 of the body (or of ``UNSIGNED-PAYLOAD`` when the client
sent ``X-TC-Content-SHA256: UNSIGNED-PAYLOAD``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import threading
from dataclasses import dataclass

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


class AuthError(Exception):
    """An authentication failure, with Tencent's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Key:
    secret_id: str
    secret_key: str
    token: str | None = None  # when set, requests must carry this X-TC-Token
    expires: float | None = None  # temporary keys (STS, instance metadata): Unix time they stop working

    def __repr__(self) -> str:  # never print the secret key
        return f"Key(secret_id={self.secret_id!r})"


class KeyRing:
    """SecretId -> Key. Loaded from a JSON file or from the environment."""

    def __init__(self, keys: list[Key] | None = None):
        self._keys = {k.secret_id: k for k in keys or []}
        self._lock = threading.Lock()  # STS adds keys while requests are checked

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def get(self, secret_id: str) -> Key | None:
        with self._lock:
            return self._keys.get(secret_id)

    def add(self, key: Key) -> None:
        with self._lock:
            self._keys[key.secret_id] = key

    @classmethod
    def from_mapping(cls, data: dict) -> KeyRing:
        """``{"AKID...": "secret"}`` or ``{"AKID...": {"secret_key": "...", "token": "..."}}``."""
        keys = []
        for secret_id, value in data.items():
            if isinstance(value, str):
                keys.append(Key(secret_id, value))
            elif isinstance(value, dict) and isinstance(value.get("secret_key"), str):
                keys.append(Key(secret_id, value["secret_key"], value.get("token")))
            else:
                raise ValueError(f"keys: entry {secret_id!r} needs a secret key string")
        return cls(keys)

    @classmethod
    def from_file(cls, path: str) -> KeyRing:
        with open(path, encoding="utf-8") as handle:
            return cls.from_mapping(json.load(handle))

    @classmethod
    def from_env(cls, environ=None) -> KeyRing:
        """The same variables the modules read: TENCENTCLOUD_SECRET_ID / _SECRET_KEY (/ _SESSION_TOKEN)."""
        env = os.environ if environ is None else environ
        secret_id, secret_key = env.get("TENCENTCLOUD_SECRET_ID"), env.get("TENCENTCLOUD_SECRET_KEY")
        if not secret_id or not secret_key:
            return cls()
        return cls([Key(secret_id, secret_key, env.get("TENCENTCLOUD_SESSION_TOKEN") or None)])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, service: str) -> bytes:
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    return _hmac(k_service, "tc3_request")


def canonical_request(method: str, uri: str, query: str, *, content_type: str, host: str, payload: bytes,
                      unsigned_payload: bool = False) -> str:
    payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD" if unsigned_payload else payload).hexdigest()
    headers = f"content-type:{content_type}\nhost:{host}\n"
    return f"{method}\n{uri}\n{query}\n{headers}\ncontent-type;host\n{payload_hash}"


def sign(secret_key: str, service: str, timestamp: int, canonical: str) -> str:
    date = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(signing_key(secret_key, date, service), string_to_sign.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def verify(keys: KeyRing, service: str, *, method: str, uri: str, query: str, headers, body: bytes,
           now: float) -> Key:
    """Check one request; return the caller's Key or raise AuthError with Tencent's code.

    ``headers`` is any case-insensitive mapping (http.client's message object is one). ``query`` is
    the query string as sent (GET: the parameters; POST: empty, Tencent ignores it).
    """
    authorization = headers.get("Authorization") or ""
    match = _AUTH_RE.match(authorization.strip())
    if not match:
        raise AuthError("AuthFailure.InvalidAuthorization",
                        "The Authorization header is missing or not in TC3-HMAC-SHA256 form.")
    try:
        timestamp = int(headers.get("X-TC-Timestamp") or "")
    except ValueError:
        raise AuthError("AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing or not an integer.") from None
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise AuthError("AuthFailure.SignatureExpire",
                        f"Signature expired: X-TC-Timestamp {timestamp} is more than {MAX_SKEW_SECONDS} s "
                        f"away from server time {int(now)}.")
    key = keys.get(match["id"])
    if key is None:
        raise AuthError("AuthFailure.SecretIdNotFound", "The SecretId is not found, please check it.")
    date = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d")
    if match["date"] != date or match["service"] != service or match["signed"] != "content-type;host":
        raise AuthError("AuthFailure.SignatureFailure",
                        "The credential scope (date/service/signed headers) does not match the request.")
    canonical = canonical_request(
        method, uri, query, content_type=headers.get("Content-Type") or "", host=headers.get("Host") or "",
        payload=body,
        unsigned_payload=headers.get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD",
    )
    expected = sign(key.secret_key, service, timestamp, canonical)
    if not hmac.compare_digest(expected, match["sig"]):
        raise AuthError("AuthFailure.SignatureFailure",
                        "The provided credentials could not be validated. Please check your signature is correct.")
    if key.token is not None and headers.get("X-TC-Token") != key.token:
        raise AuthError("AuthFailure.TokenFailure", "The session token (X-TC-Token) is missing or invalid.")
    if key.expires is not None and now >= key.expires:
        raise AuthError("AuthFailure.TokenFailure", "The temporary credentials have expired.")
    return key
