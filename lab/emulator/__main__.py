"""python3 -m lab.emulator --listen 127.0.0.1:PORT --world lab/emulator/world.json [--keys keys.json]
[--db PATH] [--task-delay SECONDS] [--switch-delay SECONDS] [--arp-interface IFACE]

Keys: a JSON file mapping SecretId to SecretKey (or to {"secret_key": ..., "token": ...}); without
--keys, TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (/ TENCENTCLOUD_SESSION_TOKEN) from the
environment, the same variables the modules read.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time

from . import arp_watch
from .actions import Vpc
from .server import EmulatorServer
from .signature import KeyRing
from .store import Store, WorldError
from .sts import DEFAULT_ROLES


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen wants HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build(world_path: str, keys: KeyRing, *, db: str = ":memory:", task_delay: float = 1.0,
          switch_delay: float = 0.0, listen: tuple[str, int] = ("127.0.0.1", 0), clock=time.time) -> EmulatorServer:
    with open(world_path, encoding="utf-8") as handle:
        world = json.load(handle)
    store = Store(db)
    store.load_world(world, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(clock())))
    vpc = Vpc(store, clock=clock, task_delay=task_delay, switch_delay=switch_delay)
    roles = world.get("roles") or DEFAULT_ROLES
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) and r for r in roles):
        raise WorldError("world: 'roles' must be a list of CAM role names")
    return EmulatorServer(listen, vpc, keys, clock=clock, roles=roles)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m lab.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8780), help="HOST:PORT")
    parser.add_argument("--world", required=True, help="JSON world file (VPCs, subnets, instances, EIP pool)")
    parser.add_argument("--keys", help="JSON file: SecretId -> SecretKey")
    parser.add_argument("--db", default=":memory:", help="SQLite file (default: in memory)")
    parser.add_argument("--task-delay", type=float, default=1.0, help="seconds an async task stays RUNNING")
    parser.add_argument("--switch-delay", type=float, default=0.0,
                        help="seconds between a gratuitous ARP and the HAVIP's move (the guide reports about 4)")
    parser.add_argument("--fault-seed", type=int, help="seed of the random fault draws (reproducible runs)")
    parser.add_argument("--arp-interface", help="interface to watch for gratuitous ARP (needs CAP_NET_RAW)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    keys = KeyRing.from_file(args.keys) if args.keys else KeyRing.from_env()
    if not len(keys):
        parser.error("no keys: give --keys FILE or set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY")
    try:
        if not 0 <= args.switch_delay <= 600 or not 0 <= args.task_delay <= 600:
            raise ValueError("--task-delay and --switch-delay must be within [0, 600] seconds")
        server = build(args.world, keys, db=args.db, task_delay=args.task_delay, switch_delay=args.switch_delay,
                       listen=args.listen)
        if args.fault_seed is not None:
            server.faults.configure({"seed": args.fault_seed})
    except (OSError, ValueError, KeyError, WorldError) as exc:
        parser.error(f"cannot start: {exc}")
    if args.arp_interface:
        arp_watch.start(args.arp_interface, lambda ip, mac: server.vpc.announce(ip, mac=mac))
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"emulator listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
