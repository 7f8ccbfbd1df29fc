"""The Molecule scenario's clusters as the verifier sees them (shared by the test modules here).

Every cluster is the group its nodes name in keepalived_cluster_group; ``havip_vrrp_daemon``
(keepalived, the default, or agent) says which VRRP daemon a node runs.
"""
import functools
import json
import os

import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = AnsibleRunner(INVENTORY)


def node_vars(name):
    return RUNNER.get_variables(name)


# Every cluster of the scenario: the groups the nodes name in keepalived_cluster_group (the cloud
# scenario has two in one subnet; the others one, `cluster`).
CLUSTERS = sorted({node_vars(h).get("keepalived_cluster_group") for h in RUNNER.get_hosts("all")} - {None})
NODES = [h for cluster in CLUSTERS for h in RUNNER.get_hosts(cluster)]

CONFIG = "/etc/keepalived/keepalived.conf"


def instances(name):
    return node_vars(name)["keepalived_instances"]


def cluster_nodes(name):
    return RUNNER.get_hosts(node_vars(name)["keepalived_cluster_group"])


def own_vips(name):
    return sorted({vip for inst in instances(name) for vip in inst["virtual_ipaddresses"]})


def own_ip(host):
    return host.interface("eth0").addresses[0]


def peer_ips(name):
    """The eth0 addresses of the other nodes of ``name``'s cluster (its unicast peers, R4a)."""
    return sorted(own_ip(testinfra.get_host(f"ansible://{n}?ansible_inventory={INVENTORY}"))
                  for n in cluster_nodes(name) if n != name)


def all_vips():
    return sorted({vip for cluster in CLUSTERS for vip in own_vips(RUNNER.get_hosts(cluster)[0])})


def holders(vip):
    """Nodes of every cluster that hold ``vip`` (a VIP must never show up in another cluster)."""
    found = []
    for name in NODES:
        node = testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")
        if vip in node.interface("eth0").addresses:
            found.append(name)
    return found


AGENT_SERVICE = "havip-vrrp-agent"
AGENT_CLI = "/usr/local/sbin/havip-vrrp"


@functools.cache
def daemon_of(name):
    """keepalived or agent. A templated value (the interop scenario's migration step changes it
    between runs) is resolved by Ansible itself."""
    value = node_vars(name).get("havip_vrrp_daemon", "keepalived")
    if "{{" in str(value):
        node = testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")
        value = node.ansible("debug", "var=havip_vrrp_daemon", check=False)["havip_vrrp_daemon"]
    assert value in ("keepalived", "agent"), value
    return value


def daemon(host):
    return daemon_of(host.backend.host)


def install_method(host):
    """The method the scenario asks for: 'source' or the package (default and auto scenarios)."""
    return node_vars(host.backend.host).get("keepalived_install_method", "auto")


def binary(host):
    return "/usr/local/sbin/keepalived" if install_method(host) == "source" else "/usr/sbin/keepalived"


def nodes_running(kind):
    """The nodes whose VRRP daemon is ``kind`` (keepalived or agent)."""
    return [n for n in NODES if daemon_of(n) == kind]


def agent_status(host):
    result = host.run(f"{AGENT_CLI} status --json")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)
