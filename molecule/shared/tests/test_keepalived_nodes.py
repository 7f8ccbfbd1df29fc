"""Keepalived's own unit and binary, on the nodes that run Keepalived (R2)."""
from vrrp_inventory import install_method, node_vars, nodes_running

testinfra_hosts = nodes_running("keepalived")


def test_the_unit_runs_the_binary_of_the_chosen_method(host):
    """R2: package path: Debian's binary and unit; source path: the built binary, our unit, no package."""
    exec_start = host.run("systemctl show -p ExecStart --value keepalived").stdout
    main_pid = host.run("systemctl show -p MainPID --value keepalived").stdout.strip()
    running = host.run(f"readlink /proc/{main_pid}/exe").stdout.strip()
    package = host.package("keepalived")
    if install_method(host) == "source":
        wanted = node_vars(host.backend.host)["keepalived_source_version"]
        assert not package.is_installed
        assert "/usr/local/sbin/keepalived" in exec_start
        assert running == "/usr/local/sbin/keepalived"
        version = host.run("/usr/local/sbin/keepalived --version")
        assert f"Keepalived v{wanted}" in version.stdout + version.stderr
        assert host.file("/etc/systemd/system/keepalived.service").contains("source build")
    else:
        assert package.is_installed
        assert "/usr/sbin/keepalived" in exec_start
        assert running == "/usr/sbin/keepalived"
        assert not host.file("/usr/local/sbin/keepalived").exists
