"""Command line: ``python3 -m havip_vrrp run -f /etc/keepalived/keepalived.conf``,
``python3 -m havip_vrrp --check-config -f FILE``, ``python3 -m havip_vrrp status``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__, status
from .config import ConfigError, load
from .packets import ipv4_bytes

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"


def _ipv4(text: str) -> str:
    try:
        ipv4_bytes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None
    return text


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own formatter with the terminal's width found here: left to itself it imports
    shutil, and with it bz2, lzma, zlib and fnmatch, for the life of the daemon (issue 13, RSS)."""
    try:
        width = os.get_terminal_size().columns - 2
    except OSError:
        width = 78
    return argparse.HelpFormatter(prog, width=width)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="havip_vrrp", description="A small VRRP agent that speaks to Keepalived.",
                                     formatter_class=_formatter)
    parser.add_argument("command", nargs="?", choices=("run", "status", "check-config"), default=None)
    parser.add_argument("-f", "--config", default=DEFAULT_CONFIG, help="keepalived.conf to read")
    parser.add_argument("--check-config", action="store_true", help="parse the configuration and exit")
    parser.add_argument("--status-file", default=status.DEFAULT_STATUS_FILE)
    parser.add_argument("--metrics-port", type=int, default=status.DEFAULT_METRICS_PORT,
                        help="Prometheus metrics port on --metrics-address (0: any free port, -1: off)")
    parser.add_argument("--metrics-address", default="127.0.0.1", type=_ipv4,
                        help="IPv4 address of the metrics (default 127.0.0.1: the node only)")
    parser.add_argument("--json", action="store_true", help="status: print the raw JSON")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def check_config(path: str) -> int:
    try:
        conf = load(path)
    except ConfigError as err:
        print(f"havip_vrrp: {err}", file=sys.stderr)
        return 1
    for warning in conf.warnings:
        print(f"havip_vrrp: warning: {warning}", file=sys.stderr)
    print(f"{path}: OK, {len(conf.instances)} vrrp_instance(s), {len(conf.scripts)} vrrp_script(s)")
    return 0


def show_status(path: str, raw: bool) -> int:
    try:
        data = status.read_status(path)
    except (OSError, ValueError) as err:
        print(f"havip_vrrp: no status at {path}: {err}", file=sys.stderr)
        return 3
    sys.stdout.write(json.dumps(data, indent=1, sort_keys=True) + "\n" if raw else status.format_status(data))
    return 0


def main(argv: list | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.check_config or args.command == "check-config":
        return check_config(args.config)
    if args.command == "status":
        return show_status(args.status_file, args.json)
    if args.command == "run":
        from .daemon import Daemon, log  # noqa: PLC0415 - the daemon needs Linux-only modules

        port = None if args.metrics_port < 0 else args.metrics_port
        try:
            return Daemon(args.config, args.status_file, port, args.metrics_address).run()
        except ConfigError as err:
            log("config_error", level="error", error=err)
            return 1
    build_parser().print_usage(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
