"""Every Molecule scenario's effective configuration (its molecule.yml merged over the base,
.config/molecule/config.yml, by Molecule's own code): what the lab promises holds in each, whatever
the scenario leaves to the base or overrides."""

from __future__ import annotations

import ipaddress

import pytest

from lab.molecule_effective_config import TOP, effective_configs

SCENARIOS = sorted(p.parent.name for p in (TOP / "molecule").glob("*/molecule.yml"))


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    return effective_configs(TOP)


def subnet(config: dict) -> ipaddress.IPv4Network:
    (network,) = {n["name"]: n for p in config["platforms"] for n in p["docker_networks"]}.values()
    return ipaddress.ip_network(network["ipam_config"][0]["subnet"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_lab_containers(configs, name):
    """docs/lab.md: systemd containers with three capabilities only, one network of the scenario's own."""
    platforms = configs[name]["platforms"]
    assert {p["name"] for p in platforms} >= {f"havip-{name}-node1", f"havip-{name}-node2", f"havip-{name}-probe"}
    for platform in platforms:
        assert platform["name"].startswith(f"havip-{name}-") and platform["hostname"] == platform["name"]
        assert platform["capabilities"] == ["SYS_ADMIN", "NET_ADMIN", "NET_RAW"]
        assert "privileged" not in platform
        assert (platform["command"], platform["cgroupns_mode"]) == ("/sbin/init", "host")
        assert platform["pre_build_image"] is True
        assert platform["tmpfs"] == ["/run", "/run/lock", "/tmp"]
        assert [n["name"] for n in platform["networks"]] == [f"havip-{name}"]
        assert ipaddress.ip_address(platform["networks"][0]["ipv4_address"]) in subnet(configs[name])


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_drills_and_the_verifier(configs, name):
    config = configs[name]
    group_vars = config["provisioner"]["inventory"]["group_vars"]
    probes = [p["name"] for p in config["platforms"] if p["groups"] == ["probe"]]
    assert probes == [group_vars["all"]["drill_probe_host"]]
    vip = ipaddress.ip_address(group_vars["all"]["drill_vip"])
    assert vip in subnet(config)
    assert [str(vip)] in [i["virtual_ipaddresses"] for i in group_vars["cluster"]["keepalived_instances"]]
    if name == "galaxy":  # the drill's own default report place is what that scenario proves
        assert group_vars["all"]["drill_report_dir"] == ""
    else:
        assert group_vars["all"]["drill_report_dir"].endswith(f"/build/drills/{name}")
    # lab/molecule.sh checks the -vvv --diff log for secrets: both must be on everywhere.
    assert config["provisioner"]["options"] == {"diff": True, "vvv": True}
    assert config["verifier"]["directory"] == "../shared/tests"
    assert (config["dependency"]["enabled"], config["prerun"]) == (False, False)


def test_scenarios_do_not_share_a_network(configs):
    """Each scenario's network has its own name and subnet (two labs can exist side by side)."""
    assert sorted(configs) == SCENARIOS
    subnets = {name: subnet(config) for name, config in configs.items()}
    for name, net in subnets.items():
        assert not [other for other, o in subnets.items() if other != name and o.overlaps(net)], name
