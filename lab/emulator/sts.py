"""Temporary credentials for the lab: STS AssumeRole (sts API 2018-08-13) and a CVM role's instance
metadata, both issuing keys the VPC side then accepts with their X-TC-Token (until they expire).

- AssumeRole: RoleArn, RoleSessionName, DurationSeconds (default 7200, at most 43200) -> Credentials
  {Token, TmpSecretId, TmpSecretKey}, ExpiredTime (Unix seconds), Expiration (ISO 8601).
- Instance metadata (what tencentcloud.common.credential.CVMRoleCredential reads):
  GET /latest/meta-data/cam/security-credentials/ -> the role name (text);
  GET /latest/meta-data/cam/security-credentials/ROLE -> {"TmpSecretId", "TmpSecretKey", "Token",
  "ExpiredTime", "Expiration", "Code": "Success"}.

Roles come from the world file (``"roles": ["havip-lab"]``; default: that one). A RoleArn names one as
``qcs::cam::uin/<digits>:roleName/<name>`` (or ``.../role/<name>``).
"""

from __future__ import annotations

import re
import secrets
import threading
import time

from .actions import ApiError
from .signature import Key, KeyRing

API_VERSION = "2018-08-13"
SERVICE = "sts"
DEFAULT_ROLES = ("havip-lab",)
MIN_DURATION, DEFAULT_DURATION, MAX_DURATION = 900, 7200, 43200
METADATA_PREFIX = "/latest/meta-data/cam/security-credentials/"
_ROLE_ARN = re.compile(r"^qcs::cam::uin/\d+:(?:roleName|role)/(?P<name>[\w+=,.@-]{1,128})$")
_SESSION_NAME = re.compile(r"^[\w,.@-]{2,128}$")


def iso8601(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


class Sts:
    """Issues temporary keys into the emulator's key ring."""

    def __init__(self, keys: KeyRing, roles=DEFAULT_ROLES, clock=time.time):
        self.keys = keys
        self.roles = tuple(roles)
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, dict] = {}  # role -> the credentials the metadata endpoint serves

    def _issue(self, duration: int) -> dict:
        expires = int(self.clock()) + duration
        key = Key("AKIDtmp" + secrets.token_hex(14), secrets.token_urlsafe(30), secrets.token_urlsafe(48),
                  expires=float(expires))
        self.keys.add(key)
        return {"TmpSecretId": key.secret_id, "TmpSecretKey": key.secret_key, "Token": key.token,
                "ExpiredTime": expires, "Expiration": iso8601(expires)}

    def action_AssumeRole(self, p: dict) -> dict:
        arn, session = p.get("RoleArn"), p.get("RoleSessionName")
        if not isinstance(arn, str) or not arn or not isinstance(session, str) or not session:
            raise ApiError("MissingParameter", "`RoleArn` and `RoleSessionName` are required.")
        match = _ROLE_ARN.match(arn)
        if match is None:
            raise ApiError("InvalidParameter.ResouceError", f"The RoleArn `{arn}` is malformed.")
        if match["name"] not in self.roles:
            raise ApiError("ResourceNotFound.RoleNotFound", f"The role `{match['name']}` does not exist.")
        if not _SESSION_NAME.match(session):
            raise ApiError("InvalidParameter.ParamError",
                           "`RoleSessionName` must be 2 to 128 characters of letters, digits and _,.@-.")
        duration = p.get("DurationSeconds", DEFAULT_DURATION)
        if isinstance(duration, bool) or not isinstance(duration, int) or not MIN_DURATION <= duration <= MAX_DURATION:
            raise ApiError("InvalidParameter.OverTimeError",
                           f"`DurationSeconds` must be an integer within [{MIN_DURATION}, {MAX_DURATION}].")
        issued = self._issue(duration)
        return {"Credentials": {k: issued[k] for k in ("Token", "TmpSecretId", "TmpSecretKey")},
                "ExpiredTime": issued["ExpiredTime"], "Expiration": issued["Expiration"]}

    def metadata(self, path: str) -> tuple[int, str, object]:
        """(HTTP status, content type, body) for a GET of the instance metadata's CAM paths."""
        rest = path[len(METADATA_PREFIX):]
        if rest == "":
            return 200, "text/plain", self.roles[0] if self.roles else ""
        if rest not in self.roles:
            return 404, "text/plain", "Not Found"
        with self._lock:
            current = self._metadata.get(rest)
            # Fresh keys once the old ones are within 5 minutes of expiring, as the metadata service does.
            if current is None or current["ExpiredTime"] - self.clock() < 300:
                current = self._metadata[rest] = {**self._issue(DEFAULT_DURATION), "Code": "Success"}
            return 200, "application/json", dict(current)
