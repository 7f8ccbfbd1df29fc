"""A stand-in for systemctl (tests/unit/test_vrrp_start.py): units live in the JSON file
$STANDIN_UNITS as {"unit": {"load": "loaded", "active": "active", "enabled": "enabled"}}; every call
is appended to $STANDIN_LOG. Answers what ansible.builtin.systemd_service and roles/_vrrp ask."""
import json
import os
import sys

path = os.environ["STANDIN_UNITS"]
with open(path) as f:
    units = json.load(f)
args = [a for a in sys.argv[1:] if a not in ("--", "-l", "--no-block")]
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")


def unit(name):
    name = name.removesuffix(".service")
    return name, units.get(name, {"load": "not-found", "active": "inactive", "enabled": ""})


def show(name, wanted):
    name, u = unit(name)
    props = {"Id": name + ".service", "Names": name + ".service", "LoadState": u["load"],
             "ActiveState": u["active"], "SubState": "running" if u["active"] == "active" else "dead",
             "UnitFileState": u["enabled"]}
    return "\n".join(f"{k}={v}" for k, v in props.items() if not wanted or k in wanted)


if not args:
    sys.exit(0)
verb, rest = args[0], args[1:]
if verb == "show":
    wanted = [p for a in rest if a.startswith("--property=") for p in a.split("=", 1)[1].split(",")]
    names = [a for a in rest if not a.startswith("--")]
    print("\n\n".join(show(n, wanted) for n in names))
elif verb == "is-enabled":
    u = unit(rest[0])[1]
    print(u["enabled"] or "not-found")
    sys.exit(0 if u["enabled"] == "enabled" else 1)
elif verb in ("start", "stop", "restart", "reload", "enable", "disable"):
    name, u = unit(rest[0])
    if u["load"] != "loaded":
        print(f"Unit {name}.service not found.", file=sys.stderr)
        sys.exit(5)
    if verb in ("enable", "disable"):
        u["enabled"] = verb + "d"
    else:
        u["active"] = "inactive" if verb == "stop" else "active"
    units[name] = u
    with open(path, "w") as f:
        json.dump(units, f)
elif verb not in ("daemon-reload",):
    print(f"stand-in systemctl: {verb} not handled", file=sys.stderr)
    sys.exit(1)
