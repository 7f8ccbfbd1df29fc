"""Parser of the keepalived.conf subset this collection renders (guide point R3).

Syntax as keepalived.conf(5): whitespace separated words, ``{ ... }`` blocks (the ``{`` may sit on
the next line or touch the word, as in the guide's ``unicast_peer{``), ``#`` and ``!`` comments,
double-quoted strings. An unknown or invalid directive raises :class:`ConfigError` carrying the file
name and line number.
"""

from __future__ import annotations

import re
import shlex
import socket

from .machine import MachineConfig
from .packets import ipv4_bytes
from .records import dataclass, field

AUTH_PASS_MAX = 8  # RFC 3768 5.3.10: 8 octets on the wire; Keepalived cuts longer ones (in bytes, UTF-8)
MAX_DEPTH = 8  # nesting of { } blocks; keepalived.conf needs 3 (vrrp_instance > authentication)
MAX_V3_ADVERT_CS = 0x0FFF  # RFC 5798 5.2.7: Max Advertise Interval, 12 bits of centiseconds


def command_words(command: str) -> list:
    """Keepalived splits a script line into words, honouring quotes."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


# Keepalived blocks the agent refuses by name (rather than as unknown), with what to do instead.
UNSUPPORTED_BLOCKS = {
    "vrrp_sync_group": "instances that change state together need Keepalived (the keepalived role); "
                       "with the agent, give each HAVIP its own cluster or track the same checks in each instance",
    "vrrp_track_file": "use a vrrp_script that tests the file, or the keepalived role",
}


class ConfigError(ValueError):
    def __init__(self, message: str, path: str = "<config>", line: int = 0) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.message = message
        self.path = path
        self.line = line


@dataclass(frozen=True)
class VirtualIp:
    address: str
    prefixlen: int = 32
    dev: str | None = None

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass
class GlobalDefs:
    router_id: str | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None
    smtp_connect_timeout: int | None = None
    vrrp_skip_check_adv_addr: bool = False
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_garp_master_repeat: int | None = None
    enable_script_security: bool = False
    script_user: str | None = None
    vrrp_version: int = 2


@dataclass
class VrrpScript:
    name: str
    line: int = 0
    script: str = ""
    interval: float = 1.0
    timeout: float | None = None
    fall: int = 1
    rise: int = 1
    weight: int = 0

    @property
    def effective_timeout(self) -> float:
        return self.timeout if self.timeout is not None else self.interval


@dataclass
class TrackProcess:
    """A vrrp_track_process block: how many processes matching ``process`` must run (keepalived.conf(5))."""

    name: str
    line: int = 0
    process: tuple[str, ...] = ()  # the name, or with parameters / full_command the command line's words
    param_match: str | None = None  # None (exact parameters), "initial" or "partial"
    full_command: bool = False
    weight: int = 1  # Keepalived's default
    reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0


@dataclass
class Instance:
    name: str
    line: int = 0
    state: str = "BACKUP"
    interface: str = ""
    virtual_router_id: int = 0
    priority: int = 100
    advert_int: float = 1.0
    nopreempt: bool = False
    preempt_delay: float = 0.0
    auth_type: str | None = None
    auth_pass: str | None = None
    unicast_src_ip: str | None = None
    unicast_peers: tuple[str, ...] = ()
    virtual_ipaddresses: tuple[VirtualIp, ...] = ()
    notify_master: str | None = None
    notify_backup: str | None = None
    notify_fault: str | None = None
    notify_stop: str | None = None
    notify: str | None = None
    garp_master_delay: float = 5.0
    garp_master_refresh: float = 0.0
    garp_master_repeat: int | None = None
    garp_master_refresh_repeat: int = 1
    track_interfaces: tuple[tuple[str, int], ...] = ()
    track_scripts: tuple[tuple[str, int | None], ...] = ()
    track_processes: tuple[tuple[str, int | None], ...] = ()
    dont_track_primary: bool = False

    @property
    def vips(self) -> tuple[str, ...]:
        return tuple(v.address for v in self.virtual_ipaddresses)


@dataclass
class KeepalivedConfig:
    path: str
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    scripts: dict = field(default_factory=dict)  # name -> VrrpScript
    instances: dict = field(default_factory=dict)  # name -> Instance
    track_processes: dict = field(default_factory=dict)  # name -> TrackProcess
    warnings: list = field(default_factory=list)

    def machine_config(self, name: str, primary_ip: str | None = None) -> MachineConfig:
        """The state machine's view of instance ``name``; ``primary_ip`` defaults to
        unicast_src_ip (the daemon passes the interface address when that is missing)."""
        inst = self.instances[name]
        gd = self.global_defs
        src = primary_ip or inst.unicast_src_ip
        if not src:
            raise ConfigError(f"vrrp_instance {name}: no unicast_src_ip and no interface address", self.path, inst.line)
        repeat = inst.garp_master_repeat
        if repeat is None:
            repeat = gd.vrrp_garp_master_repeat if gd.vrrp_garp_master_repeat is not None else 5
        tracks = tuple(
            (script, self.scripts[script].weight if weight is None else weight) for script, weight in inst.track_scripts
        )
        tracks += tuple(
            (f"process:{track}", self.track_processes[track].weight if weight is None else weight)
            for track, weight in inst.track_processes
        )
        notify = tuple(
            (state, command)
            for state, command in (("MASTER", inst.notify_master), ("BACKUP", inst.notify_backup),
                                   ("FAULT", inst.notify_fault), ("STOP", inst.notify_stop), ("ANY", inst.notify))
            if command
        )
        try:
            return self._machine_config(inst, src, repeat, tracks, notify)
        except ValueError as err:  # the parser's checks should have caught it; never a crash
            raise ConfigError(f"vrrp_instance {name}: {err}", self.path, inst.line) from None

    def _machine_config(self, inst: Instance, src: str, repeat: int, tracks: tuple, notify: tuple) -> MachineConfig:
        gd = self.global_defs
        return MachineConfig(
            name=inst.name,
            vrid=inst.virtual_router_id,
            priority=inst.priority,
            advert_int=inst.advert_int,
            primary_ip=src,
            vips=inst.vips,
            interface=inst.interface,
            version=gd.vrrp_version,
            initial_state=inst.state,
            nopreempt=inst.nopreempt,
            preempt_delay=inst.preempt_delay,
            garp_master_delay=inst.garp_master_delay,
            garp_master_repeat=repeat,
            garp_master_refresh=inst.garp_master_refresh,
            garp_master_refresh_repeat=inst.garp_master_refresh_repeat,
            track_scripts=tracks,
            track_interfaces=inst.track_interfaces,
            dont_track_primary=inst.dont_track_primary,
            auth_pass=inst.auth_pass,
            unicast_peers=inst.unicast_peers,
            check_addresses=not gd.vrrp_skip_check_adv_addr,
            vip_devices=tuple((v.cidr, v.dev or inst.interface) for v in inst.virtual_ipaddresses),
            notify_scripts=notify,
            garp_interval=gd.vrrp_garp_interval,
        )


# --- tokens and the block tree -----------------------------------------------------------------


@dataclass
class _Tok:
    text: str
    line: int
    quoted: bool = False

    @property
    def is_open(self) -> bool:
        return self.text == "{" and not self.quoted

    @property
    def is_close(self) -> bool:
        return self.text == "}" and not self.quoted


_NL = _Tok("\n", 0)
_WORD = re.compile(r'"([^"]*)"|([{}])|([^\s{}"]+)')


def _tokenize(text: str, path: str) -> list:
    tokens: list = []
    # Lines end at '\n' only, as Keepalived reads them (fgets): str.splitlines() would also end one at
    # '\r', '\x85' or U+2028 and find a directive where Keepalived sees the rest of a comment.
    for lineno, raw in enumerate(text.split("\n"), start=1):
        pos = 0
        while True:
            while pos < len(raw) and raw[pos].isspace():
                pos += 1
            if pos >= len(raw) or raw[pos] in "#!":
                break  # comment to the end of the line
            if raw[pos] == '"' and raw.find('"', pos + 1) < 0:
                raise ConfigError("unterminated quoted string", path, lineno)
            match = _WORD.match(raw, pos)
            if match is None:  # pragma: no cover - the pattern matches any non-space
                raise ConfigError(f"cannot read {raw[pos:]!r}", path, lineno)
            if match.group(1) is not None:
                tokens.append(_Tok(match.group(1), lineno, quoted=True))
            else:
                tokens.append(_Tok(match.group(0), lineno))
            pos = match.end()
        tokens.append(_Tok("\n", lineno))
    return tokens


@dataclass
class _Node:
    name: str
    args: list
    line: int
    children: list | None = None


def _build(tokens: list, path: str) -> list:
    def block(pos: int, closing_line: int | None, depth: int = 0) -> tuple:
        if depth > MAX_DEPTH:
            # Also keeps a hostile file from exhausting Python's recursion limit (RecursionError).
            raise ConfigError(f"blocks nested more than {MAX_DEPTH} deep", path, closing_line or 0)
        nodes: list = []
        while pos < len(tokens):
            tok = tokens[pos]
            if tok.text == "\n" and not tok.quoted:
                pos += 1
                continue
            if tok.is_close:
                if closing_line is None:
                    raise ConfigError("unexpected '}'", path, tok.line)
                return nodes, pos + 1
            if tok.is_open:
                raise ConfigError("unexpected '{'", path, tok.line)
            node = _Node(tok.text, [], tok.line)
            pos += 1
            while pos < len(tokens):
                cur = tokens[pos]
                if (cur.text == "\n" and not cur.quoted) or cur.is_open or cur.is_close:
                    break
                node.args.append(cur)
                pos += 1
            look = pos
            while look < len(tokens) and tokens[look].text == "\n" and not tokens[look].quoted:
                look += 1
            if look < len(tokens) and tokens[look].is_open:
                node.children, pos = block(look + 1, tokens[look].line, depth + 1)
            nodes.append(node)
        if closing_line is not None:
            raise ConfigError("missing '}' for the block opened here", path, closing_line)
        return nodes, pos

    nodes, _unused = block(0, None)
    return nodes


# --- interpretation ------------------------------------------------------------------------------


class _Reader:
    def __init__(self, path: str, result: KeepalivedConfig) -> None:
        self.path = path
        self.result = result

    def fail(self, node: _Node, message: str) -> ConfigError:
        return ConfigError(message, self.path, node.line)

    # argument helpers
    def nargs(self, node: _Node, count: int) -> list:
        if node.children is not None:
            raise self.fail(node, f"{node.name} takes no block")
        if len(node.args) != count:
            raise self.fail(node, f"{node.name} takes {count} argument(s), got {len(node.args)}")
        return [a.text for a in node.args]

    def flag(self, node: _Node) -> bool:
        self.nargs(node, 0)
        return True

    def word(self, node: _Node) -> str:
        return self.nargs(node, 1)[0]

    def number(self, node: _Node, lo: float, hi: float, integer: bool = True) -> float:
        text = self.word(node)
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise self.fail(node, f"{node.name}: {text!r} is not a {'whole ' if integer else ''}number") from None
        if not lo <= value <= hi:
            raise self.fail(node, f"{node.name} must be {lo}-{hi}, got {text}")
        return value

    def ipv4(self, node: _Node, text: str) -> str:
        try:
            return socket.inet_ntop(socket.AF_INET, ipv4_bytes(text))
        except ValueError:
            raise self.fail(node, f"{node.name}: {text!r} is not an IPv4 address") from None

    def children(self, node: _Node) -> list:
        if node.children is None:
            raise self.fail(node, f"{node.name} needs a {{ }} block")
        if node.args:
            raise self.fail(node, f"{node.name}: unexpected {node.args[0].text!r} before the block")
        return node.children

    def name_block(self, node: _Node) -> tuple:
        if node.children is None:
            raise self.fail(node, f"{node.name} needs a {{ }} block")
        if len(node.args) != 1:
            raise self.fail(node, f"{node.name} takes one name before the block")
        return node.args[0].text, node.children

    # sections
    def top(self, nodes: list) -> None:
        for node in nodes:
            if node.name == "global_defs":
                self.global_defs(self.children(node))
            elif node.name == "vrrp_script":
                self.vrrp_script(node)
            elif node.name == "vrrp_instance":
                self.vrrp_instance(node)
            elif node.name == "vrrp_track_process":
                self.vrrp_track_process(node)
            elif node.name in UNSUPPORTED_BLOCKS:
                raise self.fail(node, f"{node.name} is not supported by the agent: {UNSUPPORTED_BLOCKS[node.name]}")
            else:
                raise self.fail(node, f"unknown or unsupported top-level keyword {node.name!r}")

    def global_defs(self, nodes: list) -> None:  # noqa: PLR0912 - one branch per keyword
        gd = self.result.global_defs
        for node in nodes:
            name = node.name
            if name == "notification_email":
                emails = []
                for child in self.children(node):
                    self.nargs(child, 0)
                    emails.append(child.name)
                gd.notification_email = tuple(emails)
            elif name == "notification_email_from":
                gd.notification_email_from = self.word(node)
            elif name == "smtp_server":
                if not 1 <= len(node.args) <= 2 or node.children is not None:
                    raise self.fail(node, "smtp_server takes an address and an optional port")
                gd.smtp_server = " ".join(a.text for a in node.args)
            elif name == "smtp_connect_timeout":
                gd.smtp_connect_timeout = int(self.number(node, 1, 3600))
            elif name == "router_id":
                gd.router_id = self.word(node)
            elif name == "vrrp_skip_check_adv_addr":
                gd.vrrp_skip_check_adv_addr = self.flag(node)
            elif name == "vrrp_garp_interval":
                gd.vrrp_garp_interval = self.number(node, 0, 1, integer=False)
            elif name == "vrrp_gna_interval":
                gd.vrrp_gna_interval = self.number(node, 0, 1, integer=False)
            elif name == "vrrp_garp_master_repeat":
                gd.vrrp_garp_master_repeat = int(self.number(node, 1, 255))
            elif name == "enable_script_security":
                gd.enable_script_security = self.flag(node)
            elif name == "script_user":
                if not 1 <= len(node.args) <= 2 or node.children is not None:
                    raise self.fail(node, "script_user takes a user and an optional group")
                gd.script_user = " ".join(a.text for a in node.args)
            elif name == "vrrp_version":
                gd.vrrp_version = int(self.number(node, 2, 3))
            else:
                raise self.fail(node, f"unknown or unsupported global_defs keyword {name!r}")

    def words(self, node: _Node, missing: str) -> list:
        """The arguments of a one-line keyword that needs at least one."""
        if not node.args or node.children is not None:
            raise self.fail(node, missing)
        return [a.text for a in node.args]

    def new_block(self, node: _Node, table: dict) -> tuple:
        """A named top-level block (name, children) whose name ``table`` does not hold yet."""
        name, nodes = self.name_block(node)
        if name in table:
            raise self.fail(node, f"{node.name} {name} defined twice")
        return name, nodes

    def vrrp_script(self, node: _Node) -> None:
        name, nodes = self.new_block(node, self.result.scripts)
        script = VrrpScript(name, node.line)
        for child in nodes:
            key = child.name
            if key == "script":
                script.script = " ".join(self.words(child, "script needs a command"))
                if not command_words(script.script):
                    raise self.fail(child, f"script {script.script!r} has no command")
            elif key == "interval":
                script.interval = self.number(child, 0.001, 86400, integer=False)
            elif key == "timeout":
                script.timeout = self.number(child, 0.001, 86400, integer=False)
            elif key == "fall":
                script.fall = int(self.number(child, 1, 1000))
            elif key == "rise":
                script.rise = int(self.number(child, 1, 1000))
            elif key == "weight":
                script.weight = int(self.number(child, -253, 253))
            else:
                raise self.fail(child, f"unknown or unsupported vrrp_script keyword {key!r}")
        if not script.script:
            raise self.fail(node, f"vrrp_script {name} has no script")
        self.result.scripts[name] = script

    def vrrp_track_process(self, node: _Node) -> None:  # noqa: PLR0912 - one branch per keyword
        name, nodes = self.new_block(node, self.result.track_processes)
        track = TrackProcess(name, node.line)
        for child in nodes:
            key = child.name
            if key == "process":
                track.process = tuple(self.words(child, "process needs a name"))
            elif key == "param_match":
                track.param_match = self.word(child)
                if track.param_match not in ("initial", "partial"):
                    raise self.fail(child, "param_match must be initial or partial")
            elif key == "full_command":
                track.full_command = self.flag(child)
            elif key == "weight":
                words = [a.text for a in child.args]
                if child.children is not None or len(words) not in (1, 2) or words[1:] not in ([], ["reverse"]):
                    raise self.fail(child, "weight takes a number and an optional 'reverse'")
                try:
                    track.weight = int(words[0])
                except ValueError:
                    raise self.fail(child, f"weight {words[0]!r} is not a whole number") from None
                if not -254 <= track.weight <= 254:
                    raise self.fail(child, "weight must be -254..254")
                track.reverse = len(words) == 2
            elif key == "quorum":
                track.quorum = int(self.number(child, 1, 65535))
            elif key == "quorum_max":
                track.quorum_max = int(self.number(child, 0, 65535))
            elif key in ("delay", "fork_delay", "terminate_delay"):
                value = self.number(child, 0, 3600, integer=False)
                if key != "terminate_delay":
                    track.fork_delay = value
                if key != "fork_delay":
                    track.terminate_delay = value
            else:
                raise self.fail(child, f"unknown or unsupported vrrp_track_process keyword {key!r}")
        if not track.process:
            raise self.fail(node, f"vrrp_track_process {name} has no process")
        if track.reverse:
            # Keepalived's "weight N reverse" turns the meaning around; not needed by the roles.
            raise self.fail(node, f"vrrp_track_process {name}: 'weight ... reverse' is not supported by the agent")
        if track.quorum_max is not None and track.quorum_max < track.quorum:
            raise self.fail(node, f"vrrp_track_process {name}: quorum_max {track.quorum_max} < quorum {track.quorum}")
        self.result.track_processes[name] = track

    def vrrp_instance(self, node: _Node) -> None:  # noqa: PLR0912, PLR0915 - one branch per keyword
        name, nodes = self.new_block(node, self.result.instances)
        inst = Instance(name, node.line)
        for child in nodes:
            key = child.name
            if key == "state":
                inst.state = self.word(child).upper()
                if inst.state not in ("MASTER", "BACKUP"):
                    raise self.fail(child, "state must be MASTER or BACKUP")
            elif key == "interface":
                inst.interface = self.word(child)
            elif key == "virtual_router_id":
                inst.virtual_router_id = int(self.number(child, 1, 255))
            elif key == "priority":
                inst.priority = int(self.number(child, 1, 255))
            elif key == "advert_int":
                inst.advert_int = self.number(child, 0.01, 255, integer=False)
            elif key == "nopreempt":
                inst.nopreempt = self.flag(child)
            elif key == "preempt_delay":
                inst.preempt_delay = self.number(child, 0, 1000, integer=False)
            elif key == "authentication":
                self.authentication(inst, self.children(child))
            elif key == "unicast_src_ip":
                inst.unicast_src_ip = self.ipv4(child, self.word(child))
            elif key == "unicast_peer":
                peers = []
                for peer in self.children(child):
                    self.nargs(peer, 0)
                    peers.append(self.ipv4(peer, peer.name))
                inst.unicast_peers = tuple(peers)
            elif key == "virtual_ipaddress":
                inst.virtual_ipaddresses = tuple(self.vip(v) for v in self.children(child))
            elif key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
                if not child.args or child.children is not None:
                    raise self.fail(child, f"{key} needs a command")
                command = " ".join(a.text for a in child.args)
                if not command_words(command):
                    raise self.fail(child, f"{key} {command!r} has no command")
                setattr(inst, key, command)
            elif key == "garp_master_delay":
                inst.garp_master_delay = self.number(child, 0, 255, integer=False)
            elif key == "garp_master_refresh":
                inst.garp_master_refresh = self.number(child, 0, 86400, integer=False)
            elif key == "garp_master_repeat":
                inst.garp_master_repeat = int(self.number(child, 1, 255))
            elif key == "garp_master_refresh_repeat":
                inst.garp_master_refresh_repeat = int(self.number(child, 1, 255))
            elif key == "track_interface":
                inst.track_interfaces = tuple(
                    (name_, 0 if weight is None else weight)
                    for name_, weight in (self.tracked(t) for t in self.children(child))
                )
            elif key == "track_script":
                inst.track_scripts = tuple(self.tracked(t) for t in self.children(child))
            elif key == "track_process":
                inst.track_processes = tuple(self.tracked(t) for t in self.children(child))
            elif key == "dont_track_primary":
                inst.dont_track_primary = self.flag(child)
            elif key == "track_file":
                hint = UNSUPPORTED_BLOCKS["vrrp_track_file"]
                raise self.fail(child, f"track_file is not supported by the agent: {hint}")
            else:
                raise self.fail(child, f"unknown or unsupported vrrp_instance keyword {key!r}")
        for required in ("interface", "virtual_router_id"):
            if not getattr(inst, required):
                raise self.fail(node, f"vrrp_instance {name} has no {required}")
        self.result.instances[name] = inst

    def authentication(self, inst: Instance, nodes: list) -> None:
        for node in nodes:
            if node.name == "auth_type":
                value = self.word(node).upper()
                if value != "PASS":
                    raise self.fail(node, f"auth_type {value} is not supported (PASS only)")
                inst.auth_type = value
            elif node.name == "auth_pass":
                value = self.word(node)
                if len(value.encode()) > AUTH_PASS_MAX:
                    # packets.pass_field sends the first 8 bytes, as Keepalived does; the collection's
                    # filter refuses such a value before it is written.
                    self.result.warnings.append(f"{self.path}:{node.line}: truncating auth_pass to 8 bytes")
                inst.auth_pass = value
            else:
                raise self.fail(node, f"unknown authentication keyword {node.name!r}")
        if inst.auth_type and not inst.auth_pass:
            raise ConfigError("auth_type PASS without auth_pass", self.path, nodes[0].line if nodes else 0)

    def vip(self, node: _Node) -> VirtualIp:
        if node.children is not None:
            raise self.fail(node, "a virtual_ipaddress takes no block")
        address, slash, prefix = node.name.partition("/")
        try:
            address = socket.inet_ntop(socket.AF_INET, ipv4_bytes(address))
            prefixlen = int(prefix) if slash else 32
            if not (prefix.isdigit() or not slash) or not 0 <= prefixlen <= 32:
                raise ValueError(prefix)
        except ValueError:
            raise self.fail(node, f"{node.name!r} is not an IPv4 address[/prefix]") from None
        args = [a.text for a in node.args]
        dev = None
        if args:
            if len(args) != 2 or args[0] != "dev":
                raise self.fail(node, f"unsupported virtual_ipaddress option {' '.join(args)!r} (only 'dev IFACE')")
            dev = args[1]
        return VirtualIp(address, prefixlen, dev)

    def tracked(self, node: _Node) -> tuple:
        if node.children is not None:
            raise self.fail(node, "a tracked item takes no block")
        args = [a.text for a in node.args]
        if not args:
            return node.name, None
        if len(args) == 2 and args[0] == "weight":
            try:
                weight = int(args[1])
            except ValueError:
                raise self.fail(node, f"weight {args[1]!r} is not a whole number") from None
            if not -253 <= weight <= 253:
                raise self.fail(node, "weight must be -253..253")
            return node.name, weight
        raise self.fail(node, f"unexpected {' '.join(args)!r} after {node.name} (only 'weight N')")

    def finish(self) -> None:
        res = self.result
        vrids: dict = {}
        for inst in res.instances.values():
            where = ConfigError("", self.path, inst.line)
            for script, _unused in inst.track_scripts:
                if script not in res.scripts:
                    raise ConfigError(f"track_script {script!r} is not a vrrp_script", self.path, inst.line)
            for track, _unused in inst.track_processes:
                if track not in res.track_processes:
                    raise ConfigError(f"track_process {track!r} is not a vrrp_track_process", self.path, inst.line)
            if not inst.virtual_ipaddresses:
                raise ConfigError(f"vrrp_instance {inst.name} has no virtual_ipaddress", where.path, where.line)
            if res.global_defs.vrrp_version == 2 and inst.advert_int != int(inst.advert_int):
                raise ConfigError("VRRPv2 advert_int must be whole seconds (RFC 3768 5.3.7)", self.path, inst.line)
            if res.global_defs.vrrp_version == 3 and not 1 <= round(inst.advert_int * 100) <= MAX_V3_ADVERT_CS:
                raise ConfigError(
                    f"VRRPv3 advert_int must be 0.01-40.95 seconds (RFC 5798 5.2.7: 1-4095 centiseconds), "
                    f"got {inst.advert_int:g}", self.path, inst.line)
            key = (inst.interface, inst.virtual_router_id)
            if key in vrids:
                message = f"virtual_router_id {inst.virtual_router_id} on {inst.interface} already used by {vrids[key]}"
                raise ConfigError(message + " (R4d)", self.path, inst.line)
            vrids[key] = inst.name


def _secret_lines(tokens: list) -> set:
    """Lines that may hold a piece of auth_pass: those with an auth_pass word, and the lines after
    it up to the end of its authentication block (a newline in the password spreads it there). A
    brace on the auth_pass line is part of the password, not the block's end: the password may then
    run on to the end of the enclosing block (e.g. ``0}`` newline ``00{``)."""
    lines: set = set()
    depth = None  # brace depth inside an authentication block, None outside
    after_pass, pass_line, spread = False, None, False
    for tok in tokens:
        if tok.text == "\n" and not tok.quoted:
            continue
        if tok.text == "auth_pass":
            lines.add(tok.line)
            after_pass, pass_line = True, tok.line
        elif after_pass:
            lines.add(tok.line)
        if depth is not None and (tok.is_open or tok.is_close):
            spread = spread or (after_pass and tok.line == pass_line)
            depth += 1 if tok.is_open else -1
            if depth <= (-1 if spread else 0):
                depth, after_pass, spread = None, False, False
        elif tok.text == "authentication":
            depth = 0
    return lines


def parse(text: str, path: str = "<config>") -> KeepalivedConfig:
    result = KeepalivedConfig(path)
    reader = _Reader(path, result)
    tokens = _tokenize(text, path)
    try:
        reader.top(_build(tokens, path))
        reader.finish()
    except ConfigError as err:
        if err.line in _secret_lines(tokens):
            # Any word of that line may be a piece of the secret: the message would echo it
            # (--check-config's stderr reaches Ansible's output through `validate:`).
            raise ConfigError(
                "the authentication block cannot be read (auth_type PASS, then auth_pass: 1-8 bytes without "
                "whitespace, braces, quotes, '#' or '!'); the line is not shown, it holds the secret",
                path,
                err.line,
            ) from None
        raise
    return result


def load(path: str) -> KeepalivedConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror}", path, 0) from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text: {err.reason}", path, 0) from None
    return parse(text, path)
