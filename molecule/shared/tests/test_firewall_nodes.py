"""keepalived_firewall: VRRP through the host firewall, on the nodes of scenarios that put one in
front of them (molecule/shared/host_firewall.yml sets havip_lab_firewall)."""
import pytest
from vrrp_inventory import NODES, node_vars, peer_ips

testinfra_hosts = [n for n in NODES if node_vars(n).get("havip_lab_firewall")
                   and node_vars(n).get("keepalived_firewall", "none") != "none"]


def test_host_firewall_lets_vrrp_in_from_the_peers_only(host):
    """The role's rule comes first in the host's own input chain, names the peer(s) and protocol 112
    only, and is in the configuration loaded at boot; there is no other rule of the role."""
    kind = node_vars(host.backend.host)["havip_lab_firewall"]
    peers = peer_ips(host.backend.get_hostname())
    if kind == "nftables":
        comment = "havip-vrrp " + ",".join(peers)
        chain = host.run("nft list chain inet filter input")
        assert chain.rc == 0, chain.stderr
        rules = [line.strip() for line in chain.stdout.splitlines()
                 if line.strip() and not line.strip().startswith(("table", "chain", "type", "}"))]
        saddr = peers[0] if len(peers) == 1 else "{ " + ", ".join(peers) + " }"
        assert rules[0] == f'ip saddr {saddr} ip protocol vrrp accept comment "{comment}"', rules
        assert sum("havip-vrrp" in r for r in rules) == 1, rules
        assert "policy drop" in chain.stdout
        include = host.file("/etc/nftables.d/havip-vrrp.nft").content_string
        wanted = f'insert rule inet filter input ip saddr {{ {", ".join(peers)} }} ip protocol 112 accept'
        assert f'{wanted} comment "{comment}"' in include, include
        conf = host.file("/etc/nftables.conf").content_string.splitlines()
        assert conf[-1] == 'include "/etc/nftables.d/havip-vrrp.nft"', conf[-3:]
        assert host.run("nft -c -f /etc/nftables.conf").rc == 0
    elif kind == "iptables":
        lines = host.run("iptables -S INPUT").stdout.splitlines()
        assert lines[0] == "-P INPUT DROP", lines
        ours = [line for line in lines if "havip-vrrp" in line]
        assert lines[1:1 + len(peers)] == ours, lines
        assert sorted(ours) == sorted(f"-A INPUT -s {p}/32 -p vrrp -m comment --comment havip-vrrp -j ACCEPT"
                                      for p in peers)
        saved = host.file("/etc/iptables/rules.v4").content_string.splitlines()
        assert [line for line in saved if "havip-vrrp" in line] == ours
    elif kind == "firewalld":
        zone = host.run("firewall-cmd --get-zone-of-interface=eth0").stdout.strip() or host.run(
            "firewall-cmd --get-default-zone").stdout.strip()
        wanted = sorted(f'rule family="ipv4" source address="{p}" protocol value="112" accept' for p in peers)
        for permanent in ("", "--permanent "):
            listed = host.run(f"firewall-cmd {permanent}--zone={zone} --list-rich-rules")
            assert listed.rc == 0, listed.stderr
            ours = sorted(line for line in listed.stdout.splitlines() if 'protocol value="112"' in line)
            assert ours == wanted, f"{permanent or 'runtime'} {zone}: {listed.stdout}"
    else:
        pytest.fail(f"unknown havip_lab_firewall {kind}")
