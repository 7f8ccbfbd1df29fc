"""The keepalived.conf subset parser (R3), against the guide's configuration."""

import pytest
from havip_vrrp import config
from havip_vrrp.config import ConfigError, VirtualIp
from havip_vrrp.packets import pass_field
from hypothesis import given, settings
from hypothesis import strategies as st

# R3: the guide's keepalived.conf for the primary node (HAVIP-01 172.16.16.5), written as the guide
# lays it out (brace on the next line, `unicast_peer{`, trailing comments).
GUIDE_PRIMARY = """\
! Configuration File for keepalived
global_defs {
   notification_email {
     acassen@firewall.loc
     failover@firewall.loc
     sysadmin@firewall.loc
   }
   notification_email_from Alexandre.Cassen@firewall.loc
   smtp_server 192.168.200.1
   smtp_connect_timeout 30
   router_id LVS_DEVEL
   vrrp_skip_check_adv_addr
   vrrp_garp_interval 0
   vrrp_gna_interval 0
   vrrp_garp_master_repeat 1
}
vrrp_script checkhaproxy
{
    script "/etc/keepalived/do_sth.sh"   # health check of the service
    interval 5
}
vrrp_instance VI_1 {
    state BACKUP              # both nodes start as BACKUP
    interface eth0
    virtual_router_id 51
    nopreempt
    # preempt_delay 10
    priority 100
    advert_int 5
    authentication {
        auth_type PASS
        auth_pass hAv1p5ec
    }
    unicast_src_ip 172.16.16.5
    unicast_peer{
        172.16.16.6
    }
    virtual_ipaddress {
        172.16.16.12
    }
    notify_master "/etc/keepalived/notify_action.sh MASTER"
    notify_backup "/etc/keepalived/notify_action.sh BACKUP"
    notify_fault "/etc/keepalived/notify_action.sh FAULT"
    notify_stop "/etc/keepalived/notify_action.sh STOP"
    garp_master_delay 1
    garp_master_refresh 5
    track_interface {
        eth0
    }
    track_script {
        checkhaproxy
    }
}
"""


def test_guide_config_parses():
    conf = config.parse(GUIDE_PRIMARY, "keepalived.conf")
    gd = conf.global_defs
    assert gd.notification_email == ("acassen@firewall.loc", "failover@firewall.loc", "sysadmin@firewall.loc")
    assert gd.router_id == "LVS_DEVEL"
    assert gd.smtp_server == "192.168.200.1"
    assert gd.smtp_connect_timeout == 30
    assert gd.vrrp_skip_check_adv_addr
    assert (gd.vrrp_garp_interval, gd.vrrp_gna_interval, gd.vrrp_garp_master_repeat) == (0, 0, 1)
    script = conf.scripts["checkhaproxy"]
    assert (script.script, script.interval, script.weight) == ("/etc/keepalived/do_sth.sh", 5, 0)
    inst = conf.instances["VI_1"]
    assert (inst.state, inst.interface, inst.virtual_router_id, inst.priority) == ("BACKUP", "eth0", 51, 100)
    assert inst.nopreempt
    assert inst.advert_int == 5
    assert (inst.auth_type, inst.auth_pass) == ("PASS", "hAv1p5ec")
    assert inst.unicast_src_ip == "172.16.16.5"
    assert inst.unicast_peers == ("172.16.16.6",)
    assert inst.virtual_ipaddresses == (VirtualIp("172.16.16.12", 32),)
    assert inst.notify_master == "/etc/keepalived/notify_action.sh MASTER"
    assert inst.notify_stop == "/etc/keepalived/notify_action.sh STOP"
    assert (inst.garp_master_delay, inst.garp_master_refresh) == (1, 5)
    assert inst.track_interfaces == (("eth0", 0),)
    assert inst.track_scripts == (("checkhaproxy", None),)


def test_machine_config_from_guide():
    mc = config.parse(GUIDE_PRIMARY).machine_config("VI_1")
    assert (mc.vrid, mc.priority, mc.advert_int, mc.primary_ip) == (51, 100, 5, "172.16.16.5")
    assert mc.vips == ("172.16.16.12",)
    assert mc.nopreempt
    assert mc.garp_master_repeat == 1  # from vrrp_garp_master_repeat (R4f)
    assert (mc.garp_master_delay, mc.garp_master_refresh) == (1, 5)
    assert mc.track_scripts == (("checkhaproxy", 0),)
    assert mc.track_interfaces == (("eth0", 0),)


def test_extras_weights_dev_prefix_and_truncation():
    text = """
global_defs {
    vrrp_version 3
    enable_script_security
    script_user root
}
vrrp_script chk {
  script "/bin/true"
  interval 2
  timeout 1
  fall 2
  rise 3
  weight -20
}
vrrp_instance V {
  interface eth1
  virtual_router_id 7
  priority 150
  advert_int 0.5
  state master
  authentication {
    auth_type PASS
    auth_pass 0123456789
  }
  virtual_ipaddress { 10.0.0.9/24 dev eth1 }
  track_script { chk weight 10 }
  notify "/usr/local/bin/notify.sh"
  garp_master_repeat 3
  preempt_delay 4
}
"""
    conf = config.parse(text, "x.conf")
    inst = conf.instances["V"]
    assert inst.state == "MASTER"
    assert pass_field(inst.auth_pass) == b"01234567"  # what reaches the wire, as Keepalived sends it
    assert conf.warnings and "x.conf:23" in conf.warnings[0]
    assert inst.virtual_ipaddresses == (VirtualIp("10.0.0.9", 24, "eth1"),)
    assert inst.notify == "/usr/local/bin/notify.sh"
    script = conf.scripts["chk"]
    assert (script.interval, script.timeout, script.fall, script.rise, script.weight) == (2, 1, 2, 3, -20)
    mc = conf.machine_config("V", primary_ip="10.0.0.1")
    assert mc.version == 3
    assert mc.track_scripts == (("chk", 10),)
    assert mc.garp_master_repeat == 3
    assert mc.preempt_delay == 4


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("global_defs {\n  bogus 1\n}\n", 2, "unknown or unsupported global_defs keyword 'bogus'"),
        ("vrrp_sync_group G {\n}\n", 1,
         "vrrp_sync_group is not supported by the agent: instances that change state together"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 300\n}\n", 3, "virtual_router_id must be 1-255"),
        ("vrrp_instance V {\n interface eth0\n priority high\n}\n", 3, "is not a whole number"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n", 1, "missing '}'"),
        ("}\n", 1, "unexpected '}'"),
        ('vrrp_script s {\n script "/bin/true\n}\n', 2, "unterminated quoted string"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n"
         " authentication {\n  auth_type AH\n }\n}\n", 5, "auth_type AH is not supported"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n unicast_peer {\n  10.0.0.300\n }\n}\n",
         5, "is not an IPv4 address"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1 label x\n }\n}\n",
         5, "unsupported virtual_ipaddress option"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n"
         " virtual_ipaddress {\n 10.0.0.1\n }\n track_script {\n  nope\n }\n}\n", 1, "is not a vrrp_script"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n nopreempt yes\n}\n", 4, "takes 0 argument"),
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n vrrp_strict\n}\n", 4,
         "unknown or unsupported vrrp_instance keyword 'vrrp_strict'"),  # R4e: never vrrp_strict
        ("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n advert_int 1.5\n"
         " virtual_ipaddress {\n 10.0.0.1\n }\n}\n", 1, "whole seconds"),
        ("vrrp_instance V {\n interface eth0\n}\n", 1, "has no virtual_router_id"),
    ],
)  # fmt: skip
def test_errors_carry_file_and_line(text, line, message):
    with pytest.raises(ConfigError) as err:
        config.parse(text, "bad.conf")
    assert err.value.line == line
    assert message in err.value.message
    assert str(err.value).startswith(f"bad.conf:{line}: ")


def test_duplicate_vrid_on_same_interface_rejected():
    block = "vrrp_instance {} {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
    with pytest.raises(ConfigError, match="R4d"):
        config.parse(block.format("A") + block.format("B"))


def test_load_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        config.load(str(tmp_path / "none.conf"))
    assert err.value.line == 0


# --- issue 13, finding 4: what --check-config accepts must run -----------------------------------


def _v3(advert_int):
    return (GUIDE_PRIMARY.replace("   vrrp_garp_master_repeat 1\n", "   vrrp_garp_master_repeat 1\n   vrrp_version 3\n")
            .replace("    advert_int 5\n", f"    advert_int {advert_int}\n")
            .replace("        auth_type PASS\n        auth_pass hAv1p5ec\n", ""))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # RFC 5798 5.2.7: 12 bits of centiseconds, 0.01-40.95 s; 50 used to raise on the first advert.
        (_v3(50), "VRRPv3 advert_int must be 0.01-40.95 seconds"),
        (_v3(41), "VRRPv3 advert_int must be 0.01-40.95 seconds"),
        # A blank command used to raise IndexError in Popen at the first check or state change.
        (GUIDE_PRIMARY.replace('script "/etc/keepalived/do_sth.sh"', 'script " "'), "has no command"),
        (GUIDE_PRIMARY.replace('notify_stop "/etc/keepalived/notify_action.sh STOP"', 'notify_stop " "'),
         "notify_stop ' ' has no command"),
        (GUIDE_PRIMARY.replace("    garp_master_delay 1\n", '    notify ""\n    garp_master_delay 1\n'),
         "notify '' has no command"),
        # Deep nesting used to raise RecursionError, which the reload did not catch.
        ("vrrp_instance {\n" * 5000, "nested more than"),
        ("a {" * 100000, "nested more than"),
    ],
)
def test_check_config_refuses_what_would_fail_at_run_time(text, message):
    with pytest.raises(ConfigError, match=message):
        config.parse(text)


def test_vrrpv3_advert_int_limits_accepted():
    for advert_int in ("0.01", "0.1", "40.95"):
        mc = config.parse(_v3(advert_int)).machine_config("VI_1")
        assert mc.version == 3 and mc.advert_int == float(advert_int)


# The property: any text either gets a ConfigError or runs: every instance builds, its core runs
# for a few virtual advert intervals, and every advert, notify and track command it produces can be
# encoded or split into a command. Texts are the guide's file with fuzzed values and fragments.
VALUES = st.one_of(
    st.sampled_from(["0", "1", "5", "50", "255", "256", "0.1", "0.01", "40.95", "41", "-1", "1e3", "nan",
                     '" "', '""', '"/bin/true x"', "'", "{", "}", "2", "3", "eth0", "172.16.16.7"]),
    st.text(alphabet="abc019. {}\"#!/-", max_size=6),
)
FIELDS = ["advert_int 5", "priority 100", "virtual_router_id 51", 'script "/etc/keepalived/do_sth.sh"',
          'notify_stop "/etc/keepalived/notify_action.sh STOP"', "interval 5", "garp_master_delay 1",
          "garp_master_refresh 5", "vrrp_garp_master_repeat 1", "state BACKUP"]


@st.composite
def fuzzed_configs(draw):
    text = GUIDE_PRIMARY
    if draw(st.booleans()):
        text = _v3(5)
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        key = field.split()[0]
        text = text.replace(field, f"{key} {draw(VALUES)}", 1)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(VALUES) + text[cut:]
    return text


def run_the_core(conf):
    from havip_vrrp import protocol, scripts  # noqa: PLC0415
    from havip_vrrp.machine import RunNotify, SendAdvert, VrrpInstance  # noqa: PLC0415

    for script in conf.scripts.values():
        assert scripts.split_command(script.script)
    for name in conf.instances:
        mc = conf.machine_config(name, "192.0.2.1")
        node = VrrpInstance(mc)
        actions = node.start(0.0)
        now, end = 0.0, 4 * node.master_down_interval + 3 * mc.advert_int
        while True:
            for action in actions:
                if isinstance(action, SendAdvert):
                    advert = protocol.encode_advert(mc, action.priority)
                    assert advert.pack() if mc.version == 2 else advert.pack("192.0.2.1", "192.0.2.2")
                elif isinstance(action, RunNotify):
                    assert all(argv and argv[0] for argv in scripts.notify_commands(mc, action.state, 100))
            deadline = node.next_deadline
            if deadline is None or deadline > end:
                break
            now = max(now, deadline)
            actions = node.tick(now)
        node.shutdown(now)


@settings(max_examples=400, deadline=None)
@given(fuzzed_configs())
def test_any_text_gets_a_config_error_or_runs(text):
    try:
        conf = config.parse(text)
    except ConfigError:
        return
    run_the_core(conf)
