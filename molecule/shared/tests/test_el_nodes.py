"""The RedHat family's package path (molecule/el: EL-like nodes, dnf and an RPM repository), on the
nodes that run Keepalived installed from the RPM."""
from vrrp_inventory import install_method, node_vars, nodes_running

testinfra_hosts = [n for n in nodes_running("keepalived")
                   if node_vars(n).get("havip_lab_node_kind") == "el"
                   and node_vars(n).get("keepalived_install_method") != "source"]


def test_the_rpm_runs_from_its_own_unit_and_sysconfig(host):
    """R2 on the RedHat family: the RPM's own unit starts the daemon with the options of the RPM's
    /etc/sysconfig/keepalived, and rpm owns the binary that runs."""
    assert install_method(host) != "source"
    assert host.run("rpm -qf /usr/sbin/keepalived --queryformat '%{NAME}'").stdout == "keepalived"
    show = host.run("systemctl show -p FragmentPath -p EnvironmentFiles keepalived").stdout
    assert "EnvironmentFiles=/etc/sysconfig/keepalived " in show, show
    # The RPM's unit in EL's unit directory (the Debian userland's systemd may name it through
    # /lib, a symlink to usr/lib): no unit of ours in /etc/systemd/system shadows it.
    fragment = show.split("FragmentPath=", 1)[1].split()[0]
    unit = host.run(f"readlink -f {fragment}").stdout.strip()
    assert unit == "/usr/lib/systemd/system/keepalived.service", show
    owners = host.run("rpm -qf --queryformat '%{NAME}\\n'"
                      " /usr/lib/systemd/system/keepalived.service /etc/sysconfig/keepalived")
    assert owners.stdout.split() == ["keepalived", "keepalived"], owners.stdout + owners.stderr
    options = host.run("set -a && . /etc/sysconfig/keepalived && echo $KEEPALIVED_OPTIONS").stdout.split()
    assert options, "KEEPALIVED_OPTIONS is empty in /etc/sysconfig/keepalived"
    main_pid = host.run("systemctl show -p MainPID --value keepalived").stdout.strip()
    cmdline = host.file(f"/proc/{main_pid}/cmdline").content.decode().rstrip("\0").split("\0")
    assert cmdline[0] == "/usr/sbin/keepalived" and all(o in cmdline[1:] for o in options), cmdline


def test_dnf_installed_the_rpm(host):
    """The package came through dnf (ansible.builtin.dnf records a transaction in dnf's history; an
    `rpm -i` would not) and dnf lists it as installed from the lab's repositories."""
    listed = host.run("dnf -q list --installed keepalived")
    lines = listed.stdout.splitlines()
    assert listed.rc == 0 and any(line.startswith("keepalived.x86_64") for line in lines), listed.stdout
    history = host.run("dnf -q history list keepalived")
    assert history.rc == 0 and any("Install" in line or "Upgrade" in line for line in history.stdout.splitlines()), (
        history.stdout + history.stderr)
