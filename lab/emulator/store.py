"""The emulator's state: SQLite (a file, or :memory:), one lock, seeded from a JSON "world" file.

The world file (see world.json beside this file)::

    {"region": "ap-guangzhou",
     "vpcs": [{"VpcId": "vpc-...", "VpcName": "...", "CidrBlock": "172.16.0.0/16"}],
     "subnets": [{"SubnetId": "subnet-...", "VpcId": "vpc-...", "CidrBlock": "...", "Zone": "..."}],
     "instances": [{"InstanceId": "ins-...", "NetworkInterfaceId": "eni-...", "SubnetId": "subnet-...",
                    "PrivateIpAddress": "172.16.16.5", "MacAddress": "52:54:00:..."}],
     "eip_pool": ["198.51.100.10", ...],
     "security_groups": [{"SecurityGroupId": "sg-...", "SecurityGroupName": "...",
                          "Ingress": [{"Protocol": "TCP", "Port": "22", "CidrBlock": "...", "Action": "ACCEPT",
                                       "PolicyDescription": "..."}], "Egress": [...]}]}

EIP pool addresses must lie in 198.51.100.0/24 (TEST-NET-2): lab EIPs are records, nothing more.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import sqlite3
import string
import threading
from contextlib import contextmanager

EIP_RANGE = ipaddress.ip_network("198.51.100.0/24")
_ID_ALPHABET = string.ascii_lowercase + string.digits

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vpcs (vpc_id TEXT PRIMARY KEY, name TEXT NOT NULL, cidr TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subnets (subnet_id TEXT PRIMARY KEY, vpc_id TEXT NOT NULL, name TEXT NOT NULL,
    cidr TEXT NOT NULL, zone TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (instance_id TEXT PRIMARY KEY, eni_id TEXT UNIQUE NOT NULL,
    subnet_id TEXT NOT NULL, vpc_id TEXT NOT NULL, private_ip TEXT NOT NULL, mac TEXT NOT NULL,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS havips (havip_id TEXT PRIMARY KEY, name TEXT NOT NULL, vip TEXT NOT NULL,
    vpc_id TEXT NOT NULL, subnet_id TEXT NOT NULL, eni_id TEXT NOT NULL DEFAULT '',
    instance_id TEXT NOT NULL DEFAULT '', address_ip TEXT NOT NULL DEFAULT '',
    check_associate INTEGER NOT NULL DEFAULT 0, tags TEXT NOT NULL DEFAULT '[]', created TEXT NOT NULL,
    flushed TEXT NOT NULL DEFAULT '0000-00-00 00:00:00', seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS havip_associations (havip_id TEXT NOT NULL, instance_id TEXT NOT NULL,
    instance_type TEXT NOT NULL, PRIMARY KEY (havip_id, instance_id));
CREATE TABLE IF NOT EXISTS eip_pool (ip TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS addresses (address_id TEXT PRIMARY KEY, ip TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, instance_id TEXT NOT NULL DEFAULT '',
    instance_type TEXT NOT NULL DEFAULT '', eni_id TEXT NOT NULL DEFAULT '',
    private_ip TEXT NOT NULL DEFAULT '', charge_type TEXT NOT NULL DEFAULT 'TRAFFIC_POSTPAID_BY_HOUR',
    bandwidth INTEGER NOT NULL DEFAULT 1, tags TEXT NOT NULL DEFAULT '[]', created TEXT NOT NULL,
    seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS client_tokens (action TEXT NOT NULL, token TEXT NOT NULL, response TEXT NOT NULL,
    PRIMARY KEY (action, token));
CREATE TABLE IF NOT EXISTS pending_moves (havip_id TEXT PRIMARY KEY, instance_id TEXT NOT NULL,
    ready_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS security_groups (sg_id TEXT PRIMARY KEY, name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '', project_id TEXT NOT NULL DEFAULT '0', version INTEGER NOT NULL DEFAULT 0,
    ingress TEXT NOT NULL DEFAULT '[]', egress TEXT NOT NULL DEFAULT '[]', created TEXT NOT NULL,
    updated TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, action TEXT NOT NULL, status TEXT NOT NULL,
    ready_at REAL NOT NULL, effect TEXT NOT NULL, output TEXT NOT NULL DEFAULT '',
    resources TEXT NOT NULL DEFAULT '[]');
"""


class WorldError(ValueError):
    """The world file is inconsistent."""


def new_id(prefix: str) -> str:
    """Tencent-style id: prefix-8 characters of [a-z0-9], e.g. havip-9o233uri."""
    return prefix + "-" + "".join(secrets.choice(_ID_ALPHABET) for _position in range(8))


class Store:
    """Thread-safe access to the SQLite state. Every public method holds the lock."""

    def __init__(self, path: str = ":memory:"):
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.executescript(SCHEMA)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(tasks)")}
            if "resources" not in columns:  # a database written before tasks knew their resources
                self._conn.execute("ALTER TABLE tasks ADD COLUMN resources TEXT NOT NULL DEFAULT '[]'")
        self._seq = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self):
        """One atomic unit: the lock plus a SQLite transaction (rolled back on any exception)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def rows(self, sql: str, args=()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, args).fetchall()]

    def row(self, sql: str, args=()) -> dict | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    def execute(self, sql: str, args=()) -> int:
        with self._lock:
            return self._conn.execute(sql, args).rowcount

    def next_seq(self) -> int:
        """Creation order, for stable listings."""
        with self._lock:
            row = self._conn.execute(
                "SELECT MAX(s) FROM (SELECT MAX(seq) s FROM havips UNION ALL SELECT MAX(seq) s FROM addresses)"
            ).fetchone()
            return (row[0] or 0) + 1

    def unique_id(self, prefix: str, table: str, column: str) -> str:
        while True:
            candidate = new_id(prefix)
            if self.row(f"SELECT 1 FROM {table} WHERE {column} = ?", (candidate,)) is None:  # noqa: S608
                return candidate

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        found = self.row("SELECT value FROM meta WHERE key = ?", (key,))
        return found["value"] if found else default

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- the world ----------------------------------------------------------------------------
    def load_world(self, world: dict, created: str) -> None:
        """Seed VPCs, subnets, instances and the EIP pool. A database that was seeded before keeps
        its state (restarting the emulator on the same --db file resumes the rehearsal)."""
        with self.transaction():
            if self.get_meta("seeded") == "1":
                return
            region = world.get("region")
            if not isinstance(region, str) or not region:
                raise WorldError("world: 'region' is required")
            self.set_meta("region", region)
            self._load_quotas(world.get("quotas") or {})
            for vpc in world.get("vpcs", []):
                ipaddress.ip_network(vpc["CidrBlock"])
                self.execute("INSERT INTO vpcs VALUES (?, ?, ?, ?)",
                             (vpc["VpcId"], vpc.get("VpcName", vpc["VpcId"]), vpc["CidrBlock"], created))
            for sub in world.get("subnets", []):
                vpc = self.row("SELECT cidr FROM vpcs WHERE vpc_id = ?", (sub["VpcId"],))
                if vpc is None:
                    raise WorldError(f"world: subnet {sub['SubnetId']} names unknown VPC {sub['VpcId']}")
                if not ipaddress.ip_network(sub["CidrBlock"]).subnet_of(ipaddress.ip_network(vpc["cidr"])):
                    raise WorldError(f"world: subnet {sub['SubnetId']} is outside its VPC's CIDR")
                self.execute("INSERT INTO subnets VALUES (?, ?, ?, ?, ?, ?)",
                             (sub["SubnetId"], sub["VpcId"], sub.get("SubnetName", sub["SubnetId"]),
                              sub["CidrBlock"], sub.get("Zone", region + "-3"), created))
            for ins in world.get("instances", []):
                sub = self.row("SELECT vpc_id, cidr FROM subnets WHERE subnet_id = ?", (ins["SubnetId"],))
                if sub is None:
                    raise WorldError(f"world: instance {ins['InstanceId']} names unknown subnet {ins['SubnetId']}")
                if ipaddress.ip_address(ins["PrivateIpAddress"]) not in ipaddress.ip_network(sub["cidr"]):
                    raise WorldError(f"world: instance {ins['InstanceId']} address is outside its subnet")
                self.execute("INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (ins["InstanceId"], ins["NetworkInterfaceId"], ins["SubnetId"], sub["vpc_id"],
                              ins["PrivateIpAddress"], normalise_mac(ins.get("MacAddress", "")), created))
            for ip in world.get("eip_pool", []):
                if ipaddress.ip_address(ip) not in EIP_RANGE:
                    raise WorldError(f"world: EIP {ip} is outside {EIP_RANGE} (the only range lab EIPs may use)")
                self.execute("INSERT INTO eip_pool VALUES (?)", (ip,))
            for seq, group in enumerate(world.get("security_groups", []), start=1):
                self._load_security_group(group, created, seq)
            self.set_meta("seeded", "1")

    def _load_security_group(self, group: dict, created: str, seq: int) -> None:
        """A security group of the world file; its rules are stored as the API lists them (the
        emulator's security_groups.py normalises them), Version 0 until the first change."""
        from .security_groups import world_policies  # noqa: PLC0415 - the rules' parser lives with the actions
        sg_id = group["SecurityGroupId"]
        try:
            ingress = world_policies(group.get("Ingress", []), created)
            egress = world_policies(group.get("Egress", []), created)
        except ValueError as exc:
            raise WorldError(f"world: security group {sg_id}: {exc}") from None
        self.execute("INSERT INTO security_groups (sg_id, name, description, project_id, version, ingress, egress, "
                     "created, updated, seq) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                     (sg_id, group.get("SecurityGroupName", sg_id), group.get("SecurityGroupDesc", ""),
                      str(group.get("ProjectId", "0")), self.dumps(ingress), self.dumps(egress), created, created,
                      seq))

    def _load_quotas(self, quotas: dict) -> None:
        for name, value in quotas.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise WorldError(f"world: quota {name!r} must be a non-negative integer")
            self.set_meta("quota." + name, str(value))

    def set_instance(self, instance_id: str, mac: str | None = None, private_ip: str | None = None) -> bool:
        with self.transaction():
            ins = self.row("SELECT * FROM instances WHERE instance_id = ?", (instance_id,))
            if ins is None:
                return False
            if mac is not None:
                self.execute("UPDATE instances SET mac = ? WHERE instance_id = ?", (normalise_mac(mac), instance_id))
            if private_ip is not None:
                self.execute("UPDATE instances SET private_ip = ? WHERE instance_id = ?", (private_ip, instance_id))
            return True

    # --- JSON columns ---------------------------------------------------------------------------
    @staticmethod
    def dumps(value) -> str:
        return json.dumps(value, sort_keys=True)

    @staticmethod
    def loads(text: str):
        return json.loads(text)


def normalise_mac(mac: str) -> str:
    mac = mac.strip().lower().replace("-", ":")
    return mac
