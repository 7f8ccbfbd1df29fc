"""The VPC API actions the collection uses, with Tencent's parameter rules and error codes.

Error codes are the ones Tencent documents for each action (error_codes.json beside this file,
taken from the per-action lists of Tencent's SDK). Asynchronous actions come in Tencent's two kinds:

- VPC tasks (DeleteHaVip, HaVipAssociateAddressIp, HaVipDisassociateAddressIp): the answer's
  RequestId is the task id, polled with DescribeVpcTaskResult (Status RUNNING/SUCCESS/FAILED);
- EIP tasks (AllocateAddresses, ReleaseAddresses, ModifyAddressesBandwidth): the answer carries a
  TaskId, a string of digits, polled with DescribeTaskResult (TaskId an integer; Result
  RUNNING/SUCCESS/FAILED).

A task stays RUNNING for ``task_delay`` seconds, then its effect is applied. Meanwhile the resources
show Tencent's transient states (EIP CREATING, BINDING, UNBINDING, OFFLINING; a HAVIP being deleted
stays listed as it was) and a mutation of a busy resource is refused with the action's documented
"task running" code. Pending tasks are settled at the start of every call (and of every announcement).
"""

from __future__ import annotations

import ipaddress
import time
import uuid

from .params import (
    FILTER_CODES,
    MAX_LIMIT,
    MAX_NAME,
    ApiError,
    _bool,
    _check_id,
    _client_token,
    _filters,
    _id,
    _ids_xor_filters,
    _int,
    _ipv4,
    _matches,
    _name,
    _page,
    _string,
    _string_list,
    _tags,
    _without_token,
)
from .security_groups import SG_MUTATING, SecurityGroupActions
from .store import Store

MAX_ADDRESS_FILTER_VALUES = 100  # DescribeAddresses: "Filter.Values 的上限为100"
# Quotas (world.json "quotas" overrides them). The stored docs do not give the numbers; these are the
# defaults of Tencent's VPC/EIP quota pages as the project knows them: HAVIPs per VPC, EIPs per region,
# rules per direction of a security group.
DEFAULT_QUOTAS = {"havips_per_vpc": 10, "eips_per_region": 20, "policies_per_direction": 100}
MAX_ASSOCIATIONS = 10
MAX_HAVIPS_PER_ENI = 5  # R4f: at most five HAVIPs on one ENI
# AllocateAddresses' InternetMaxBandwidthOut ranges (Mbps) per charge type, as its reference states.
MIN_BANDWIDTH = 1
MAX_BANDWIDTH = {"BANDWIDTH_PACKAGE": 2000, "BANDWIDTH_POSTPAID_BY_HOUR": 100, "BANDWIDTH_PREPAID_BY_MONTH": 200,
                 "TRAFFIC_POSTPAID_BY_HOUR": 100}
NEVER_FLUSHED = "0000-00-00 00:00:00"

MUTATING = frozenset({
    "CreateHaVip", "ModifyHaVipAttribute", "DeleteHaVip", "AssociateHaVipInstance", "DisassociateHaVipInstance",
    "HaVipAssociateAddressIp", "HaVipDisassociateAddressIp", "AllocateAddresses", "ReleaseAddresses",
    "ModifyAddressAttribute", "ModifyAddressesBandwidth",
}) | SG_MUTATING
# Asynchronous actions whose task is an EIP task (numeric TaskId, DescribeTaskResult); the other
# asynchronous actions are VPC tasks (RequestId, DescribeVpcTaskResult).
EIP_TASK_ACTIONS = frozenset({"AllocateAddresses", "ReleaseAddresses", "ModifyAddressesBandwidth"})
FIRST_EIP_TASK_ID = 1_000_000_000


def reserved_addresses(cidr: str) -> set[ipaddress.IPv4Address]:
    """R1: the network address, the gateway (first host) and the broadcast address are reserved
    (for 10.0.0.0/24 only 10.0.0.2 - 10.0.0.254 may be used)."""
    net = ipaddress.ip_network(cidr)
    return {net.network_address, net.network_address + 1, net.broadcast_address}


class Vpc(SecurityGroupActions):
    """The emulated VPC service of one region."""

    def __init__(self, store: Store, clock=time.time, task_delay: float = 1.0, switch_delay: float = 0.0):
        self.store = store
        self.clock = clock
        self.task_delay = task_delay
        self.switch_delay = switch_delay  # seconds between a gratuitous ARP and the HAVIP's move

    @property
    def region(self) -> str:
        return self.store.get_meta("region") or ""

    def quota(self, name: str) -> int:
        return int(self.store.get_meta("quota." + name) or DEFAULT_QUOTAS[name])

    def timestamp(self, when: float | None = None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock() if when is None else when))

    def dispatch(self, action: str, params: dict, request_id: str | None = None) -> dict:
        """Run one action; ``request_id`` is the answer's RequestId (the task id of a VPC task; a new
        one when the caller is not the HTTP front, e.g. a test seeding state)."""
        request_id = request_id or str(uuid.uuid4())
        handler = getattr(self, "action_" + action, None)
        if handler is None:
            raise ApiError("InvalidAction", f"The action `{action}` does not exist or is not supported here.")
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body must be a JSON object.")
        with self.store.transaction():
            self._request_id = request_id  # under the store's lock: one action at a time
            self._settle()
            return handler(params)

    # --- tasks ----------------------------------------------------------------------------------
    def _new_task(self, action: str, effect: dict, resources: list[str], request_id: str) -> str:
        """Start a task; its id is the request's RequestId (VPC tasks) or a number (EIP tasks)."""
        if action in EIP_TASK_ACTIONS:
            task_id = str(int(self.store.get_meta("eip_task_seq", str(FIRST_EIP_TASK_ID))) + 1)
            self.store.set_meta("eip_task_seq", task_id)
        else:
            task_id = request_id
        self.store.execute(
            "INSERT INTO tasks (task_id, action, status, ready_at, effect, resources) VALUES (?, ?, ?, ?, ?, ?)",
            (task_id, action, "RUNNING", self.clock() + self.task_delay, Store.dumps(effect), Store.dumps(resources)))
        return task_id

    def running_task(self, resource_id: str) -> dict | None:
        """The task still RUNNING on that resource (HAVIP id or EIP id), if any."""
        return self.store.row("SELECT * FROM tasks WHERE status = 'RUNNING' AND resources LIKE ? ORDER BY ready_at",
                              (f'%"{resource_id}"%',))

    def _settle(self) -> None:
        now = self.clock()
        for move in self.store.rows("SELECT * FROM pending_moves WHERE ready_at <= ? ORDER BY ready_at", (now,)):
            self.store.execute("DELETE FROM pending_moves WHERE havip_id = ?", (move["havip_id"],))
            havip = self._havip_row(move["havip_id"], required=False)
            ins = self.store.row("SELECT * FROM instances WHERE instance_id = ?", (move["instance_id"],))
            # The world may have changed during the delay (HAVIP deleted, drift range narrowed).
            if havip is not None and ins is not None and self._refusal(havip, ins, havip["vip"]) is None:
                self._move(havip, ins, move["ready_at"])
        for task in self.store.rows("SELECT * FROM tasks WHERE status = 'RUNNING' AND ready_at <= ? ORDER BY ready_at",
                                    (now,)):
            effect = Store.loads(task["effect"])
            status, output = "SUCCESS", "SUCCESS"
            try:
                getattr(self, "_effect_" + effect["kind"])(effect)
            except ApiError as exc:
                status, output = "FAILED", exc.message
            self.store.execute("UPDATE tasks SET status = ?, output = ? WHERE task_id = ?",
                               (status, output, task["task_id"]))

    def _effect_bind_eip(self, effect: dict) -> None:
        havip = self._havip_row(effect["havip_id"], required=False)
        if havip is None:
            self.store.execute("UPDATE addresses SET status = 'UNBIND', instance_id = '', instance_type = '', "
                               "private_ip = '' WHERE address_id = ?", (effect["address_id"],))
            raise ApiError("ResourceNotFound", "The HAVIP was deleted before the EIP was bound.")
        address = self.store.row("SELECT * FROM addresses WHERE address_id = ?", (effect["address_id"],))
        self.store.execute("UPDATE havips SET address_ip = ? WHERE havip_id = ?", (address["ip"], havip["havip_id"]))
        self.store.execute("UPDATE addresses SET status = 'BIND', instance_id = ?, instance_type = 'HAVIP', "
                           "private_ip = ? WHERE address_id = ?",
                           (havip["havip_id"], havip["vip"], address["address_id"]))

    def _effect_unbind_eip(self, effect: dict) -> None:
        self.store.execute("UPDATE havips SET address_ip = '' WHERE havip_id = ?", (effect["havip_id"],))
        self.store.execute("UPDATE addresses SET status = 'UNBIND', instance_id = '', instance_type = '', "
                           "private_ip = '' WHERE address_id = ?", (effect["address_id"],))

    def _effect_delete_havip(self, effect: dict) -> None:
        havip_id = effect["havip_id"]
        self.store.execute("DELETE FROM havip_associations WHERE havip_id = ?", (havip_id,))
        self.store.execute("DELETE FROM pending_moves WHERE havip_id = ?", (havip_id,))
        self.store.execute("DELETE FROM havips WHERE havip_id = ?", (havip_id,))

    def _effect_eips_created(self, effect: dict) -> None:
        for address_id in effect["address_ids"]:
            self.store.execute("UPDATE addresses SET status = 'UNBIND' WHERE address_id = ? AND status = 'CREATING'",
                               (address_id,))

    def _effect_eips_released(self, effect: dict) -> None:
        for address_id in effect["address_ids"]:
            self.store.execute("DELETE FROM addresses WHERE address_id = ?", (address_id,))

    def _effect_eips_bandwidth(self, effect: dict) -> None:
        for address_id in effect["address_ids"]:
            self.store.execute("UPDATE addresses SET bandwidth = ? WHERE address_id = ?",
                               (effect["bandwidth"], address_id))

    def action_DescribeVpcTaskResult(self, p: dict) -> dict:
        task_id = _string(p, "TaskId", required=True)
        task = self.store.row("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        if task is None or task["action"] in EIP_TASK_ACTIONS:  # EIP tasks answer DescribeTaskResult only
            raise ApiError("ResourceNotFound", f"The task `{task_id}` does not exist.")
        return {"Status": task["status"], "Output": task["output"] if task["status"] != "RUNNING" else "",
                "Result": []}

    def action_DescribeTaskResult(self, p: dict) -> dict:
        task_id, deal = p.get("TaskId"), p.get("DealName")
        if task_id is None and not deal:
            raise ApiError("MissingParameter", "One of `TaskId` or `DealName` is required.")
        if task_id is None:  # the lab has no billing orders
            raise ApiError("InvalidParameter", f"The order `{deal}` (DealName) does not exist.")
        if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id < 0:
            raise ApiError("InvalidParameter", "The parameter `TaskId` must be a non-negative integer.")
        task = self.store.row("SELECT * FROM tasks WHERE task_id = ?", (str(task_id),))
        if task is None or task["action"] not in EIP_TASK_ACTIONS:
            # Docs silent on an unknown id; the harsher reading: the parameter is invalid.
            raise ApiError("InvalidParameter", f"The task `{task_id}` (TaskId) does not exist.")
        return {"TaskId": task_id, "Result": task["status"]}

    # --- client tokens ----------------------------------------------------------------------------
    def _replay(self, action: str, token: str | None, params: dict) -> dict | None:
        """The first answer to this ClientToken, or None. The same token with other parameters is
        refused: the docs only say a token must be unique per request (silent on reuse), so the
        harsher reading; InvalidParameter is documented for CreateHaVip and common to all."""
        if token is None:
            return None
        found = self.store.row("SELECT response FROM client_tokens WHERE action = ? AND token = ?", (action, token))
        if found is None:
            return None
        stored = Store.loads(found["response"])
        if "request" not in stored:  # remembered before requests were kept with their token
            return stored
        if stored["request"] != _without_token(params):
            raise ApiError("InvalidParameter",
                           f"The ClientToken `{token}` was used before with other parameters.")
        return stored["response"]

    def _remember(self, action: str, token: str | None, params: dict, response: dict) -> None:
        if token is not None:
            self.store.execute("INSERT INTO client_tokens VALUES (?, ?, ?)",
                               (action, token, Store.dumps({"request": _without_token(params), "response": response})))

    # --- network lookups -------------------------------------------------------------------------
    def _vpc(self, vpc_id: str) -> dict:
        vpc = self.store.row("SELECT * FROM vpcs WHERE vpc_id = ?", (vpc_id,))
        if vpc is None:
            raise ApiError("ResourceNotFound", f"The VPC `{vpc_id}` (VpcId) does not exist.")
        return vpc

    def _subnet(self, subnet_id: str, vpc_id: str | None = None) -> dict:
        sub = self.store.row("SELECT * FROM subnets WHERE subnet_id = ?", (subnet_id,))
        if sub is None or (vpc_id is not None and sub["vpc_id"] != vpc_id):
            raise ApiError("ResourceNotFound", f"The subnet `{subnet_id}` (SubnetId) does not exist in VPC `{vpc_id}`.")
        return sub

    def _used_addresses(self, vpc_id: str) -> set[ipaddress.IPv4Address]:
        used = {ipaddress.ip_address(r["private_ip"])
                for r in self.store.rows("SELECT private_ip FROM instances WHERE vpc_id = ?", (vpc_id,))}
        used |= {ipaddress.ip_address(r["vip"]) for r in self.store.rows("SELECT vip FROM havips WHERE vpc_id = ?",
                                                                         (vpc_id,))}
        return used

    def _havip_row(self, havip_id: str, required: bool = True) -> dict | None:
        row = self.store.row("SELECT * FROM havips WHERE havip_id = ?", (havip_id,))
        if row is None and required:
            raise ApiError("ResourceNotFound", f"The HAVIP `{havip_id}` (HaVipId) does not exist.")
        return row

    def _associations(self, havip_id: str) -> list[dict]:
        return self.store.rows("SELECT * FROM havip_associations WHERE havip_id = ? ORDER BY rowid", (havip_id,))

    def _havip_view(self, row: dict) -> dict:
        assoc = [{"InstanceId": a["instance_id"], "HaVipId": a["havip_id"], "InstanceType": a["instance_type"]}
                 for a in self._associations(row["havip_id"])]
        return {
            "HaVipId": row["havip_id"], "HaVipName": row["name"], "Vip": row["vip"], "VpcId": row["vpc_id"],
            "SubnetId": row["subnet_id"], "NetworkInterfaceId": row["eni_id"], "InstanceId": row["instance_id"],
            "AddressIp": row["address_ip"], "State": "AVAILABLE" if row["instance_id"] else "UNBIND",
            "CreatedTime": row["created"], "Business": "", "HaVipAssociationSet": assoc,
            "CheckAssociate": bool(row["check_associate"]), "CdcId": "", "FlushedTime": row["flushed"],
            "TagSet": Store.loads(row["tags"]),
        }

    # --- HAVIP ------------------------------------------------------------------------------------
    def _parse_associations(self, p: dict, vpc_id: str | None, havip_id_required: bool) -> list[dict]:
        value = p.get("HaVipAssociationSet")
        if value is None:
            if havip_id_required:
                raise ApiError("MissingParameter", "The request is missing a required parameter `HaVipAssociationSet`.")
            return []
        if not isinstance(value, list) or (havip_id_required and not value):
            raise ApiError("InvalidParameter", "The parameter `HaVipAssociationSet` must be a non-empty list.")
        if len(value) > MAX_ASSOCIATIONS:
            raise ApiError("LimitExceeded", f"`HaVipAssociationSet` holds more than {MAX_ASSOCIATIONS} instances.")
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise ApiError("InvalidParameter", f"`HaVipAssociationSet.{index}` must be an object.")
            kind = item.get("InstanceType") or "CVM"
            if kind not in ("CVM", "ENI"):
                raise ApiError("InvalidParameterValue",
                               f"`HaVipAssociationSet.{index}.InstanceType` must be CVM or ENI, not `{kind}`.")
            instance_id = _string(item, "InstanceId", required=True)
            _check_id(f"HaVipAssociationSet.{index}.InstanceId", instance_id, "ins" if kind == "CVM" else "eni")
            havip_id = None
            if havip_id_required:
                havip_id = _id(item, "HaVipId", "havip", required=True)
                vpc_id = self._havip_row(havip_id)["vpc_id"]
            column = "instance_id" if kind == "CVM" else "eni_id"
            ins = self.store.row(f"SELECT * FROM instances WHERE {column} = ?", (instance_id,))  # noqa: S608
            if ins is None or ins["vpc_id"] != vpc_id:
                raise ApiError("ResourceNotFound",
                               f"The instance `{instance_id}` does not exist in VPC `{vpc_id}`.")
            result.append({"havip_id": havip_id, "instance_id": instance_id, "instance_type": kind})
        return result

    def action_CreateHaVip(self, p: dict) -> dict:
        token = _client_token(p)
        replay = self._replay("CreateHaVip", token, p)
        if replay is not None:
            row = self._havip_row(replay["HaVip"]["HaVipId"], required=False)
            return {"HaVip": self._havip_view(row)} if row else replay
        vpc_id = _id(p, "VpcId", "vpc", required=True)
        name = _name(p, "HaVipName", required=True)
        subnet_id = _id(p, "SubnetId", "subnet")
        eni_id = _id(p, "NetworkInterfaceId", "eni")
        vpc = self._vpc(vpc_id)
        if subnet_id is None and eni_id is None:
            raise ApiError("MissingParameter", "One of `SubnetId` or `NetworkInterfaceId` is required.")
        if subnet_id is None:
            eni = self.store.row("SELECT * FROM instances WHERE eni_id = ? AND vpc_id = ?", (eni_id, vpc_id))
            if eni is None:
                raise ApiError("ResourceNotFound", f"The ENI `{eni_id}` (NetworkInterfaceId) does not exist.")
            subnet_id = eni["subnet_id"]
        subnet = self._subnet(subnet_id, vpc["vpc_id"])
        net = ipaddress.ip_network(subnet["cidr"])
        used = self._used_addresses(vpc_id)
        reserved = reserved_addresses(subnet["cidr"])
        vip_text = _string(p, "Vip")
        if vip_text is not None:
            vip = _ipv4("Vip", vip_text)
            if vip not in net:
                raise ApiError("InvalidParameterValue.Range",
                               f"The Vip `{vip}` is not inside subnet `{subnet_id}` ({net}).")
            if vip in reserved:
                raise ApiError("InvalidParameterValue.Reserved",
                               f"The Vip `{vip}` is reserved in subnet `{subnet_id}` ({net}): network, gateway "
                               f"and broadcast addresses cannot be used.")
            if vip in used:
                raise ApiError("ResourceInUse", f"The Vip `{vip}` is already in use in VPC `{vpc_id}`.")
        else:
            vip = next((h for h in net.hosts() if h not in reserved and h not in used), None)
            if vip is None:
                raise ApiError("ResourceInsufficient", f"The subnet `{subnet_id}` has no free address.")
        tags = _tags(p, duplicate="InvalidParameterValue.Duplicate")
        held = self.store.row("SELECT COUNT(*) AS n FROM havips WHERE vpc_id = ?", (vpc_id,))["n"]
        if held >= self.quota("havips_per_vpc"):
            raise ApiError("LimitExceeded", f"The VPC `{vpc_id}` already holds its quota of "
                                            f"{self.quota('havips_per_vpc')} HAVIPs.")
        check = _bool(p, "CheckAssociate")
        associations = self._parse_associations(p, vpc_id, havip_id_required=False)
        havip_id = self.store.unique_id("havip", "havips", "havip_id")
        self.store.execute(
            "INSERT INTO havips (havip_id, name, vip, vpc_id, subnet_id, check_associate, tags, created, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (havip_id, name, str(vip), vpc_id, subnet_id, int(check), Store.dumps(tags), self.timestamp(),
             self.store.next_seq()))
        for a in associations:
            self.store.execute("INSERT OR IGNORE INTO havip_associations VALUES (?, ?, ?)",
                               (havip_id, a["instance_id"], a["instance_type"]))
        response = {"HaVip": self._havip_view(self._havip_row(havip_id))}
        self._remember("CreateHaVip", token, p, response)
        return response

    _HAVIP_FILTERS = frozenset({
        "havip-id", "havip-name", "vpc-id", "subnet-id", "vip", "address-ip", "havip-association.instance-id",
        "havip-association.instance-type", "check-associate", "cdc-id", "type", "termination-protection",
        "traffic-protection",
    })

    def action_DescribeHaVips(self, p: dict) -> dict:
        _ids_xor_filters(p, "HaVipIds")
        ids = _string_list(p, "HaVipIds")
        for index, havip_id in enumerate(ids or []):
            _check_id(f"HaVipIds.{index}", havip_id, "havip")
        filters = _filters(p, set(self._HAVIP_FILTERS), FILTER_CODES["havip"])
        views = [self._havip_view(r) for r in self.store.rows("SELECT * FROM havips ORDER BY seq")]
        if ids:
            views = [v for v in views if v["HaVipId"] in ids]
        views = [v for v in views if _matches(filters, {
            "havip-id": v["HaVipId"], "havip-name": v["HaVipName"], "vpc-id": v["VpcId"], "subnet-id": v["SubnetId"],
            "vip": v["Vip"], "address-ip": v["AddressIp"] or None,
            "havip-association.instance-id": [a["InstanceId"] for a in v["HaVipAssociationSet"]],
            "havip-association.instance-type": [a["InstanceType"] for a in v["HaVipAssociationSet"]],
            "check-associate": str(v["CheckAssociate"]).lower(), "cdc-id": None, "type": "NORMAL",
            "termination-protection": "false", "traffic-protection": "false",
        })]
        total, page = _page(p, views)
        return {"TotalCount": total, "HaVipSet": page}

    def action_ModifyHaVipAttribute(self, p: dict) -> dict:
        havip_id = _id(p, "HaVipId", "havip", required=True)
        name = _name(p, "HaVipName", required=True)
        self._havip_row(havip_id)
        # Docs silent on renaming during a task (EIP binding, deletion): the harsher reading refuses.
        self._refuse_if_busy(havip_id, "the HAVIP", "UnsupportedOperation")
        self.store.execute("UPDATE havips SET name = ? WHERE havip_id = ?", (name, havip_id))
        return {}

    def action_DeleteHaVip(self, p: dict) -> dict:
        """Asynchronous (VPC task): the HAVIP stays listed, unchanged, until the task completes."""
        havip_id = _id(p, "HaVipId", "havip", required=True)
        row = self._havip_row(havip_id)
        running = self.running_task(havip_id)
        if running is not None:  # DeleteHaVip documents no "task running" code: the generic one
            raise ApiError("UnsupportedOperation",
                           f"A task ({running['action']}) is still running on the HAVIP `{havip_id}`.")
        pending = self.store.row("SELECT 1 FROM addresses WHERE instance_id = ?", (havip_id,))
        if row["address_ip"] or pending:
            raise ApiError("UnsupportedOperation",
                           f"The HAVIP `{havip_id}` is bound to an EIP; unbind it (HaVipDisassociateAddressIp) first.")
        task_id = self._new_task("DeleteHaVip", {"kind": "delete_havip", "havip_id": havip_id}, [havip_id],
                                 self._request_id)
        return {"RequestId": task_id}

    def action_AssociateHaVipInstance(self, p: dict) -> dict:
        wanted = self._parse_associations(p, None, havip_id_required=True)
        for a in wanted:
            exists = self.store.row("SELECT 1 FROM havip_associations WHERE havip_id = ? AND instance_id = ?",
                                    (a["havip_id"], a["instance_id"]))
            if exists:
                raise ApiError("InvalidParameterValue.DuplicatedHaVipAssociations",
                               f"The HAVIP `{a['havip_id']}` is already associated with `{a['instance_id']}`.")
            count = len(self._associations(a["havip_id"]))
            if count >= MAX_ASSOCIATIONS:
                raise ApiError("LimitExceeded", f"The HAVIP `{a['havip_id']}` has {MAX_ASSOCIATIONS} associations.")
            self.store.execute("INSERT INTO havip_associations VALUES (?, ?, ?)",
                               (a["havip_id"], a["instance_id"], a["instance_type"]))
        return {}

    def action_DisassociateHaVipInstance(self, p: dict) -> dict:
        wanted = self._parse_associations(p, None, havip_id_required=True)
        for a in wanted:
            removed = self.store.execute("DELETE FROM havip_associations WHERE havip_id = ? AND instance_id = ?",
                                         (a["havip_id"], a["instance_id"]))
            if not removed:
                raise ApiError("ResourceNotFound",
                               f"The HAVIP `{a['havip_id']}` is not associated with `{a['instance_id']}`.")
            row = self._havip_row(a["havip_id"])
            if a["instance_id"] in (row["instance_id"], row["eni_id"]):
                # A manual unbind of the current holder: the HAVIP is released (FlushedTime moves).
                self.store.execute("UPDATE havips SET instance_id = '', eni_id = '', flushed = ? WHERE havip_id = ?",
                                   (self.timestamp(), a["havip_id"]))
        return {}

    def _refuse_if_busy(self, resource_id: str, what: str, code: str) -> None:
        running = self.running_task(resource_id)
        if running is not None:
            raise ApiError(code, f"A task ({running['action']}) is still running on {what} `{resource_id}`.")

    def action_HaVipAssociateAddressIp(self, p: dict) -> dict:
        havip_id = _id(p, "HaVipId", "havip", required=True)
        address_ip = _string(p, "AddressIp", required=True)
        _ipv4("AddressIp", address_ip)
        havip = self._havip_row(havip_id)
        address = self.store.row("SELECT * FROM addresses WHERE ip = ?", (address_ip,))
        if address is None:
            raise ApiError("ResourceNotFound", f"The EIP `{address_ip}` (AddressIp) does not exist.")
        self._refuse_if_busy(havip_id, "the HAVIP", "UnsupportedOperation.MutexOperationTaskRunning")
        self._refuse_if_busy(address["address_id"], "the EIP", "UnsupportedOperation.MutexOperationTaskRunning")
        if havip["address_ip"]:
            raise ApiError("UnsupportedOperation.BindEIP",
                           f"The HAVIP `{havip_id}` already carries an EIP ({havip['address_ip']}).")
        if address["status"] != "UNBIND":
            raise ApiError("UnsupportedOperation",
                           f"The EIP `{address_ip}` is {address['status']} (bound to `{address['instance_id']}`); "
                           f"only an UNBIND EIP can be bound.")
        self.store.execute("UPDATE addresses SET status = 'BINDING', instance_id = ?, instance_type = 'HAVIP' "
                           "WHERE address_id = ?", (havip_id, address["address_id"]))
        task_id = self._new_task("HaVipAssociateAddressIp", {"kind": "bind_eip", "havip_id": havip_id,
                                                             "address_id": address["address_id"]},
                                 [havip_id, address["address_id"]], self._request_id)
        return {"RequestId": task_id}

    def action_HaVipDisassociateAddressIp(self, p: dict) -> dict:
        havip_id = _id(p, "HaVipId", "havip", required=True)
        havip = self._havip_row(havip_id)
        self._refuse_if_busy(havip_id, "the HAVIP", "UnsupportedOperation.MutexOperationTaskRunning")
        address = self.store.row("SELECT * FROM addresses WHERE instance_id = ? AND status = 'BIND'", (havip_id,))
        if not havip["address_ip"] or address is None:
            raise ApiError("UnsupportedOperation.UnbindEIP", f"The HAVIP `{havip_id}` has no EIP bound.")
        self.store.execute("UPDATE addresses SET status = 'UNBINDING' WHERE address_id = ?", (address["address_id"],))
        task_id = self._new_task("HaVipDisassociateAddressIp", {"kind": "unbind_eip", "havip_id": havip_id,
                                                                "address_id": address["address_id"]},
                                 [havip_id, address["address_id"]], self._request_id)
        return {"RequestId": task_id}

    # --- VPCs, subnets, ENIs ------------------------------------------------------------------------
    def action_DescribeVpcs(self, p: dict) -> dict:
        _ids_xor_filters(p, "VpcIds")
        ids = _string_list(p, "VpcIds")
        filters = _filters(p, {"vpc-id", "vpc-name", "cidr-block", "is-default"}, FILTER_CODES["vpc"])
        views = [{"VpcId": r["vpc_id"], "VpcName": r["name"], "CidrBlock": r["cidr"], "IsDefault": False,
                  "EnableMulticast": False, "CreatedTime": r["created"], "DnsServerSet": [], "DomainName": "",
                  "DhcpOptionsId": "", "EnableDhcp": True, "Ipv6CidrBlock": "", "TagSet": [], "AssistantCidrSet": []}
                 for r in self.store.rows("SELECT * FROM vpcs ORDER BY vpc_id")]
        if ids:
            views = [v for v in views if v["VpcId"] in ids]
        views = [v for v in views if _matches(filters, {"vpc-id": v["VpcId"], "vpc-name": v["VpcName"],
                                                        "cidr-block": v["CidrBlock"], "is-default": "false"})]
        total, page = _page(p, views)
        return {"TotalCount": total, "VpcSet": page}

    def action_DescribeSubnets(self, p: dict) -> dict:
        _ids_xor_filters(p, "SubnetIds")
        ids = _string_list(p, "SubnetIds")
        filters = _filters(p, {"subnet-id", "vpc-id", "cidr-block", "zone", "subnet-name", "is-default"},
                           FILTER_CODES["vpc"])
        views = []
        for r in self.store.rows("SELECT * FROM subnets ORDER BY subnet_id"):
            net = ipaddress.ip_network(r["cidr"])
            used = {u for u in self._used_addresses(r["vpc_id"]) if u in net}
            total_ips = net.num_addresses - len(reserved_addresses(r["cidr"]))
            views.append({"VpcId": r["vpc_id"], "SubnetId": r["subnet_id"], "SubnetName": r["name"],
                          "CidrBlock": r["cidr"], "IsDefault": False, "EnableBroadcast": False, "Zone": r["zone"],
                          "RouteTableId": "", "CreatedTime": r["created"],
                          "AvailableIpAddressCount": total_ips - len(used), "TotalIpAddressCount": total_ips,
                          "Ipv6CidrBlock": "", "NetworkAclId": "", "IsRemoteVpcSnat": False, "TagSet": [],
                          "CdcId": "", "IsCdcSubnet": 0})
        if ids:
            views = [v for v in views if v["SubnetId"] in ids]
        views = [v for v in views if _matches(filters, {
            "subnet-id": v["SubnetId"], "vpc-id": v["VpcId"], "cidr-block": v["CidrBlock"], "zone": v["Zone"],
            "subnet-name": v["SubnetName"], "is-default": "false"})]
        total, page = _page(p, views)
        return {"TotalCount": total, "SubnetSet": page}

    def action_DescribeNetworkInterfaces(self, p: dict) -> dict:
        _ids_xor_filters(p, "NetworkInterfaceIds")
        ids = _string_list(p, "NetworkInterfaceIds")
        filters = _filters(p, {"vpc-id", "subnet-id", "network-interface-id", "attachment.instance-id",
                               "address-ip", "mac-address"}, FILTER_CODES["vpc"])
        views = []
        for r in self.store.rows("SELECT * FROM instances ORDER BY instance_id"):
            views.append({
                "NetworkInterfaceId": r["eni_id"], "NetworkInterfaceName": r["instance_id"] + "-eth0",
                "NetworkInterfaceDescription": "", "SubnetId": r["subnet_id"], "VpcId": r["vpc_id"], "GroupSet": [],
                "Primary": True, "MacAddress": r["mac"], "State": "AVAILABLE",
                "PrivateIpAddressSet": [{"PrivateIpAddress": r["private_ip"], "Primary": True, "PublicIpAddress": "",
                                         "AddressId": "", "Description": "", "IsWanIpBlocked": False,
                                         "State": "AVAILABLE"}],
                "Attachment": {"DeviceIndex": 0, "InstanceAccountId": "", "AttachTime": r["created"],
                               "InstanceId": r["instance_id"]},
                "Zone": "", "CreatedTime": r["created"], "Ipv6AddressSet": [], "TagSet": [], "EniType": 1,
            })
        if ids:
            views = [v for v in views if v["NetworkInterfaceId"] in ids]
        views = [v for v in views if _matches(filters, {
            "vpc-id": v["VpcId"], "subnet-id": v["SubnetId"], "network-interface-id": v["NetworkInterfaceId"],
            "attachment.instance-id": v["Attachment"]["InstanceId"],
            "address-ip": v["PrivateIpAddressSet"][0]["PrivateIpAddress"], "mac-address": v["MacAddress"]})]
        total, page = _page(p, views)
        return {"TotalCount": total, "NetworkInterfaceSet": page}

    # --- EIPs ------------------------------------------------------------------------------------------
    def _address_view(self, r: dict) -> dict:
        """As Tencent answers: CreatedTime in ISO 8601 UTC, null (not "") where nothing is bound."""
        return {
            "AddressId": r["address_id"], "AddressName": r["name"], "AddressStatus": r["status"],
            "AddressIp": r["ip"], "InstanceId": r["instance_id"] or None,
            "CreatedTime": r["created"].replace(" ", "T") + "Z",
            "NetworkInterfaceId": r["eni_id"] or None, "PrivateAddressIp": r["private_ip"] or None, "IsArrears": False,
            "IsBlocked": False, "IsEipDirectConnection": False, "AddressType": "EIP", "CascadeRelease": False,
            "InternetServiceProvider": "BGP", "LocalBgp": False, "Bandwidth": r["bandwidth"],
            "InternetChargeType": r["charge_type"], "TagSet": Store.loads(r["tags"]),
            "InstanceType": r["instance_type"] or None,
        }

    def action_AllocateAddresses(self, p: dict) -> dict:
        # AllocateAddresses documents no code for a bad ClientToken or name: the common one.
        token = _client_token(p, malformed="InvalidParameterValue", too_long="InvalidParameterValue")
        replay = self._replay("AllocateAddresses", token, p)
        if replay is not None:
            return replay
        count = _int(p, "AddressCount", 1)
        if count < 1 or count > MAX_LIMIT:
            raise ApiError("InvalidParameterValue.Range", f"`AddressCount` must be within [1, {MAX_LIMIT}].")
        name = _name(p, "AddressName", required=False, too_long="InvalidParameterValue") or ""
        tags = _tags(p, duplicate="InvalidParameterValue.InvalidTag")
        bandwidth = _int(p, "InternetMaxBandwidthOut", 1)
        charge = _string(p, "InternetChargeType") or "TRAFFIC_POSTPAID_BY_HOUR"
        if charge not in MAX_BANDWIDTH:
            raise ApiError("InvalidParameterValue.Range",
                           f"`InternetChargeType` must be one of {sorted(MAX_BANDWIDTH)}, not `{charge}`.")
        if not MIN_BANDWIDTH <= bandwidth <= MAX_BANDWIDTH[charge]:
            raise ApiError("InvalidParameterValue.BandwidthOutOfRange",
                           f"`InternetMaxBandwidthOut` must be within [{MIN_BANDWIDTH}, {MAX_BANDWIDTH[charge]}] "
                           f"Mbps for {charge}.")
        held = self.store.row("SELECT COUNT(*) AS n FROM addresses")["n"]
        if held + count > self.quota("eips_per_region"):
            raise ApiError("AddressQuotaLimitExceeded",
                           f"The region's EIP quota ({self.quota('eips_per_region')}) would be exceeded: {held} held, "
                           f"{count} requested.")
        free = [r["ip"] for r in self.store.rows(
            "SELECT ip FROM eip_pool WHERE ip NOT IN (SELECT ip FROM addresses) ORDER BY ip")]
        if len(free) < count:
            raise ApiError("AddressQuotaLimitExceeded",
                           f"Only {len(free)} EIP(s) are left in the lab's pool, {count} were requested.")
        ids = []
        for ip in free[:count]:
            address_id = self.store.unique_id("eip", "addresses", "address_id")
            self.store.execute(
                "INSERT INTO addresses (address_id, ip, name, status, charge_type, bandwidth, tags, created, seq) "
                "VALUES (?, ?, ?, 'CREATING', ?, ?, ?, ?, ?)",
                (address_id, ip, name, charge, bandwidth, Store.dumps(tags), self.timestamp(), self.store.next_seq()))
            ids.append(address_id)
        task_id = self._new_task("AllocateAddresses", {"kind": "eips_created", "address_ids": ids}, ids,
                                 self._request_id)
        response = {"AddressSet": ids, "TaskId": task_id}
        self._remember("AllocateAddresses", token, p, response)
        return response

    _ADDRESS_FILTERS = frozenset({
        "address-id", "address-name", "address-ip", "address-status", "instance-id", "private-ip-address",
        "network-interface-id", "is-arrears", "instance-type", "address-type", "address-isp", "dedicated-cluster-id",
        "tag-key", "tag-value",
    })

    def action_DescribeAddresses(self, p: dict) -> dict:
        ids = _string_list(p, "AddressIds")
        for index, address_id in enumerate(ids or []):
            _check_id(f"AddressIds.{index}", address_id, "eip", "InvalidParameterValue.AddressIdMalformed")
        filters = _filters(p, set(self._ADDRESS_FILTERS), FILTER_CODES["address"], max_values=MAX_ADDRESS_FILTER_VALUES,
                           tag_keys=True)
        if ids and any(name == "address-id" for name, _values in filters):
            raise ApiError("InvalidParameter", "`AddressIds` and the filter `address-id` cannot be given together.")
        # Documented: for address-name and private-ip-address only the first value is used.
        filters = [(name, values[:1] if name in ("address-name", "private-ip-address") else values)
                   for name, values in filters]
        views = [self._address_view(r) for r in self.store.rows("SELECT * FROM addresses ORDER BY seq")]
        if ids:
            views = [v for v in views if v["AddressId"] in ids]
        views = [v for v in views if _matches(filters, {
            "address-id": v["AddressId"], "address-name": v["AddressName"], "address-ip": v["AddressIp"],
            "address-status": v["AddressStatus"], "instance-id": v["InstanceId"],
            "private-ip-address": v["PrivateAddressIp"], "network-interface-id": v["NetworkInterfaceId"],
            "is-arrears": "FALSE", "instance-type": v["InstanceType"], "address-type": "EIP",
            "address-isp": v["InternetServiceProvider"], "dedicated-cluster-id": None,
            "tag-key": [t["Key"] for t in v["TagSet"]], "tag-value": [t["Value"] for t in v["TagSet"]],
            **{"tag:" + t["Key"]: t["Value"] for t in v["TagSet"]}})]
        total, page = _page(p, views, out_of_range="InvalidParameter")
        return {"TotalCount": total, "AddressSet": page}

    def _addresses_for_change(self, p: dict, too_many: str) -> list[dict]:
        """The rows of ``AddressIds`` (all of them checked before anything changes); ``too_many``: the
        action's code for more than 100 ids."""
        ids = _string_list(p, "AddressIds")
        if not ids:
            raise ApiError("MissingParameter", "The request is missing a required parameter `AddressIds`.")
        if len(ids) > MAX_LIMIT:
            raise ApiError(too_many, f"At most {MAX_LIMIT} `AddressIds` are allowed.")
        rows = []
        for index, address_id in enumerate(ids):
            _check_id(f"AddressIds.{index}", address_id, "eip", "InvalidParameterValue.AddressIdMalformed")
            row = self.store.row("SELECT * FROM addresses WHERE address_id = ?", (address_id,))
            if row is None:
                raise ApiError("InvalidAddressId.NotFound", f"The EIP `{address_id}` does not exist.")
            self._refuse_if_busy(address_id, "the EIP", "OperationDenied.MutexTaskRunning")
            rows.append(row)
        return rows

    def action_ReleaseAddresses(self, p: dict) -> dict:
        """Asynchronous (EIP task): the EIPs are OFFLINING until the task completes, then gone."""
        rows = self._addresses_for_change(p, too_many="InvalidParameterValue")  # no specific code documented
        for row in rows:
            if row["status"] != "UNBIND":
                raise ApiError("InvalidAddressState",
                               f"The EIP `{row['address_id']}` is {row['status']} (bound to `{row['instance_id']}`); "
                               f"unbind it before releasing it.")
        ids = [row["address_id"] for row in rows]
        for address_id in ids:
            self.store.execute("UPDATE addresses SET status = 'OFFLINING' WHERE address_id = ?", (address_id,))
        return {"TaskId": self._new_task("ReleaseAddresses", {"kind": "eips_released", "address_ids": ids}, ids,
                                         self._request_id)}

    def action_ModifyAddressAttribute(self, p: dict) -> dict:
        """Synchronous: the EIP's name (the lab ignores EipDirectConnection)."""
        address_id = _string(p, "AddressId", required=True)
        _check_id("AddressId", address_id, "eip", "InvalidParameterValue.AddressIdMalformed")
        name = _string(p, "AddressName")
        if name is not None and len(name) > MAX_NAME:
            raise ApiError("InvalidParameterValue.TooLong",
                           f"The value of parameter `AddressName` is longer than {MAX_NAME} characters.")
        if self.store.row("SELECT 1 FROM addresses WHERE address_id = ?", (address_id,)) is None:
            raise ApiError("InvalidAddressId.NotFound", f"The EIP `{address_id}` does not exist.")
        self._refuse_if_busy(address_id, "the EIP", "OperationDenied.MutexTaskRunning")
        if name is not None:
            self.store.execute("UPDATE addresses SET name = ? WHERE address_id = ?", (name, address_id))
        return {}

    def action_ModifyAddressesBandwidth(self, p: dict) -> dict:
        """Asynchronous (EIP task): the new bandwidth shows when the task completes."""
        bandwidth = p.get("InternetMaxBandwidthOut")
        if bandwidth is None:
            raise ApiError("MissingParameter", "The request is missing a required parameter `InternetMaxBandwidthOut`.")
        if isinstance(bandwidth, bool) or not isinstance(bandwidth, int):
            raise ApiError("InvalidParameter", "The parameter `InternetMaxBandwidthOut` must be an integer.")
        # A CREATING or OFFLINING EIP has its task running: refused as such by _addresses_for_change.
        rows = self._addresses_for_change(p, too_many="InvalidParameterValue.LimitExceeded")
        for row in rows:
            if not MIN_BANDWIDTH <= bandwidth <= MAX_BANDWIDTH[row["charge_type"]]:
                raise ApiError("InvalidParameterValue.BandwidthOutOfRange",
                               f"`InternetMaxBandwidthOut` must be within [{MIN_BANDWIDTH}, "
                               f"{MAX_BANDWIDTH[row['charge_type']]}] Mbps for {row['charge_type']}.")
        ids = [row["address_id"] for row in rows]
        return {"TaskId": self._new_task("ModifyAddressesBandwidth",
                                         {"kind": "eips_bandwidth", "address_ids": ids, "bandwidth": bandwidth},
                                         ids, self._request_id)}

    # --- the VPC's side of VRRP: learning from gratuitous ARP (R1, R4c, R5) ---------------------------
    def announce(self, vip: str, mac: str | None = None, instance_id: str | None = None) -> dict:
        """A gratuitous ARP for ``vip`` from the instance owning ``mac`` (or ``instance_id``).

        The HAVIP moves to that instance only if the instance is in the HAVIP's subnet (R1: a HAVIP
        is subnet-scoped) and, when the HAVIP has a drift range (HaVipAssociationSet), inside it.
        With a ``switch_delay``, the move happens that many seconds later (a later announcement for
        the same HAVIP replaces a pending one; one from the current holder cancels it) and the
        answer carries ``pending`` and ``moves_at``.
        Returns {"bound": bool, "moved": bool, "havip_id", "instance_id", "reason"}.
        """
        with self.store.transaction():
            self._settle()
            if instance_id:
                ins = self.store.row("SELECT * FROM instances WHERE instance_id = ?", (instance_id,))
            else:
                ins = self.store.row("SELECT * FROM instances WHERE mac = ?", ((mac or "").lower(),))
            if ins is None:
                return {"bound": False, "moved": False, "reason": f"no instance owns {instance_id or mac}"}
            havip = self.store.row("SELECT * FROM havips WHERE vip = ? AND vpc_id = ?", (vip, ins["vpc_id"]))
            reason = self._refusal(havip, ins, vip)
            result = {"bound": reason is None, "moved": False, "instance_id": ins["instance_id"],
                      "havip_id": havip["havip_id"] if havip else None, "reason": reason}
            if reason is None:
                self.store.execute("DELETE FROM pending_moves WHERE havip_id = ?", (havip["havip_id"],))
                if havip["instance_id"] != ins["instance_id"]:
                    if self.switch_delay > 0:
                        # The VPC takes a while to act on the announcement (the guide: about 4 s).
                        ready = self.clock() + self.switch_delay
                        self.store.execute("INSERT INTO pending_moves VALUES (?, ?, ?)",
                                           (havip["havip_id"], ins["instance_id"], ready))
                        result.update(pending=True, moves_at=self.timestamp(ready))
                    else:
                        self._move(havip, ins, self.clock())
                        result["moved"] = True
            return result

    def _move(self, havip: dict, ins: dict, when: float) -> None:
        self.store.execute("UPDATE havips SET instance_id = ?, eni_id = ?, flushed = ? WHERE havip_id = ?",
                           (ins["instance_id"], ins["eni_id"], self.timestamp(when), havip["havip_id"]))

    def _refusal(self, havip: dict | None, ins: dict, vip: str) -> str | None:
        """Why the VPC ignores this announcement (None: it takes it)."""
        if havip is None:
            return f"no HAVIP {vip} in VPC {ins['vpc_id']}"
        if havip["subnet_id"] != ins["subnet_id"]:
            return (f"R1: HAVIP {havip['havip_id']} is in subnet {havip['subnet_id']}, "
                    f"instance {ins['instance_id']} in {ins['subnet_id']}")
        allowed = {a["instance_id"] for a in self._associations(havip["havip_id"])}
        if allowed and not allowed & {ins["instance_id"], ins["eni_id"]}:
            return f"instance {ins['instance_id']} is outside the drift range of {havip['havip_id']}"
        if havip["instance_id"] != ins["instance_id"]:
            on_eni = self.store.row("SELECT COUNT(*) AS n FROM havips WHERE eni_id = ?", (ins["eni_id"],))["n"]
            if on_eni >= MAX_HAVIPS_PER_ENI:
                return f"R4f: ENI {ins['eni_id']} already holds {MAX_HAVIPS_PER_ENI} HAVIPs"
        return None
