"""No value of a templated variable can add a directive to keepalived.conf (issue 11, R3, R4e).

Hypothesis draws a variable of keepalived.conf.j2 and a string for it (heavy in newlines, braces,
quotes, comment characters and Unicode separators). The role's own order is followed: the
collection's filter checks the variables first; a value it refuses never reaches a template. A
value it accepts is rendered through the real template by Ansible's templar, and the file is read
back with the agent's keepalived.conf parser: its directive tree must be the tree of the same file
rendered with a plain marker word in that place - nothing added, nothing removed, no block opened or
closed. auth_pass is never part of a refusal.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from ansible_collections.havip.tencentcloud.plugins.filter import vrrp_options
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from template_renderer import Renderer
from test_vrrp_filters import vrrp

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "roles" / "_vrrp" / "templates" / "keepalived.conf.j2"
sys.path.insert(0, str(ROOT / "roles" / "vrrp_agent" / "files"))
from havip_vrrp import config as agent_config  # noqa: E402 - the agent ships inside its role

MARKER = "MARKER"
OPTION_BLOCKS = {"keepalived_track_processes": [], "keepalived_track_files": [], "keepalived_vrrp_sync_groups": []}
# The issue-12 options, drawn by the second property below: a tracked process and file, a sync
# group of two instances, an instance's own notify scripts.
PROCESS = {"name": "chk_proc", "process": "haproxy", "weight": 0, "quorum": 1, "quorum_max": 2, "delay": 0}
TRACK_FILE = {"name": "chk_file", "file": "/etc/keepalived/down", "weight": 0, "init_value": 0}
SYNC = {"name": "G1", "instances": ["VI_1", "VI_2"]}
INSTANCE_OPTIONS = {"notify": False, "notify_master": "/etc/keepalived/master.sh",
                    "notify_script": "/etc/keepalived/notify.sh", "track_processes": ["chk_proc"],
                    "track_files": ["chk_file"]}
GLOBALS = {
    "ansible_managed": "Ansible managed",
    "keepalived_notification_emails": ["acassen@firewall.loc"],
    "keepalived_notification_email_from": "Alexandre.Cassen@firewall.loc",
    "keepalived_smtp_server": "192.168.200.1",
    "keepalived_smtp_connect_timeout": 30,
    "keepalived_router_id": "HAVIP-01",
    "keepalived_vrrp_skip_check_adv_addr": True,
    "keepalived_vrrp_garp_interval": 0.001,
    "keepalived_vrrp_gna_interval": 0.001,
    "keepalived_vrrp_garp_master_repeat": 1,
    "keepalived_vrrp_version": 2,
    "keepalived_script_user": "root",
    "keepalived_global_defs_extra": [],  # the agent reads none; fuzzed one line at a time
    "keepalived_config_dir": "/etc/keepalived",
}
SCRIPT = {"name": "checkhaproxy", "script": "/etc/keepalived/check_service.sh", "interval": 5, "timeout": 4,
          "fall": 2, "rise": 1, "weight": 2}
INSTANCE = {"name": "VI_1", "state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "nopreempt": True,
            "priority": 100, "advert_int": 5, "auth_pass": "1111", "unicast_src_ip": "172.16.16.5",
            "unicast_peers": ["172.16.16.6"], "virtual_ipaddresses": ["172.16.16.12"], "notify": True,
            "garp_master_delay": 1, "garp_master_refresh": 5, "track_interfaces": ["eth1"],
            "track_scripts": ["checkhaproxy"]}
LISTS = {"keepalived_notification_emails", "keepalived_global_defs_extra", "unicast_peers", "virtual_ipaddresses",
         "track_interfaces", "track_scripts"}
SYNC_SCRIPT = dict(SCRIPT, weight=0)  # in a sync group Keepalived ignores weights: the filter wants 0
# Every variable the template writes: (where, key).
FIELDS = ([("global", k) for k in GLOBALS] + [("script", k) for k in SCRIPT] + [("instance", k) for k in INSTANCE])
OPTION_FIELDS = ([("process", k) for k in PROCESS] + [("file", k) for k in TRACK_FILE] + [("sync", k) for k in SYNC]
                 + [("instance", k) for k in INSTANCE_OPTIONS if k != "notify"])
OPTION_LISTS = {"instances", "track_processes", "track_files"}


RENDER = Renderer(TEMPLATE, ROOT / "build" / "collections")


def variables(where, key, value):
    """The template's variables with ``value`` in one place (one element of a list variable)."""
    glob, script, inst = copy.deepcopy(GLOBALS), dict(SCRIPT), copy.deepcopy(INSTANCE)
    target = {"global": glob, "script": script, "instance": inst}[where]
    target[key] = [value] if key in LISTS else value
    return glob, script, inst


def refusals(glob, script, inst):
    """The collection's filter, as the roles' preflight calls it (no facts: only the values)."""
    resolved = vrrp.vrrp_instances([inst], {}, "node1", {}, ["node1", "node2"])
    settings_ = {k: v for k, v in glob.items() if k not in ("ansible_managed", "keepalived_global_defs_extra",
                                                            "keepalived_vrrp_version")}
    return vrrp.vrrp_config_errors(resolved, [script], {}, global_extra=glob["keepalived_global_defs_extra"],
                                   vrrp_version=glob["keepalived_vrrp_version"], settings=settings_), resolved


def rendered(glob, script, inst):
    # The issue-12 option blocks (track_process, track_file, sync groups) are not drawn here: empty.
    return RENDER(dict(glob, keepalived_vrrp_scripts=[script], __vrrp_instances=[inst], **OPTION_BLOCKS))


def option_variables(where, key, value):
    """Two instances with every issue-12 option, ``value`` in one place (a list's last element)."""
    first = dict(copy.deepcopy(INSTANCE), **copy.deepcopy(INSTANCE_OPTIONS))
    second = dict(copy.deepcopy(first), name="VI_2", virtual_router_id=52, virtual_ipaddresses=["172.16.16.13"])
    blocks = {"process": dict(PROCESS), "file": dict(TRACK_FILE), "sync": copy.deepcopy(SYNC), "instance": first}
    target = blocks[where]
    target[key] = ([*target[key][:-1], value]) if key in OPTION_LISTS else value
    return blocks, [first, second]


def option_refusals(blocks, instances):
    resolved = vrrp.vrrp_instances(instances, {}, "node1", {}, ["node1", "node2"])
    glob = GLOBALS
    settings_ = {k: v for k, v in glob.items() if k not in ("ansible_managed", "keepalived_global_defs_extra",
                                                            "keepalived_vrrp_version")}
    errors = vrrp.vrrp_config_errors(resolved, [SYNC_SCRIPT], {}, global_extra=[], vrrp_version=2,
                                     settings=settings_)
    errors += vrrp_options.vrrp_option_errors(resolved, [blocks["process"]], [blocks["sync"]], [SYNC_SCRIPT],
                                              [blocks["file"]])
    return errors, resolved


def option_rendered(blocks, resolved):
    return RENDER(dict(GLOBALS, keepalived_vrrp_scripts=[SYNC_SCRIPT], __vrrp_instances=resolved,
                       keepalived_track_processes=[blocks["process"]], keepalived_track_files=[blocks["file"]],
                       keepalived_vrrp_sync_groups=[blocks["sync"]]))


def tree(text, marker_word=None):
    """The directive tree as the agent reads keepalived.conf: names and blocks, args left out."""
    nodes = agent_config._build(agent_config._tokenize(text, "k.conf"), "k.conf")

    def shape(items):
        return [((marker_word if marker_word and n.name == MARKER else n.name),
                 None if n.children is None else shape(n.children)) for n in items]

    return shape(nodes)


SWITCHED_OFF = {("keepalived_smtp_server", "")}  # meta/argument_specs.yml: "" writes no smtp_server
# keepalived.conf's own syntax, then characters that end a line somewhere (Keepalived, Python, Unicode).
SYNTAX = st.text(alphabet=st.sampled_from(list('ab1_.-/@{}"\'#!\\ é')), max_size=10)
CONTROL = st.text(alphabet=st.sampled_from(list("ab1 {}\t\n\r\x00\x0b\x0c\x1e\x85\u2028\u00a0")), max_size=10)
# A plain word first: what passes a first-word or a prefix check.
WORD = st.from_regex(r"[a-z][a-z0-9_.@]{0,6}|/[a-z]{1,6}", fullmatch=True)
VALUES = st.one_of(st.builds(str.__add__, WORD, SYNTAX), st.builds(str.__add__, WORD, CONTROL), SYNTAX, CONTROL,
                   st.text(max_size=12), WORD)
# The shapes issue 11 verified, tried on every field besides the random ones.
KNOWN = ["n1\nvrrp_strict", "n1\rvrrp_strict", "n1\u2028vrrp_strict", "n1 }\nvrrp_strict {", "ab }", "ab {",
         'ab "x', "a@b }", "/bin/x }", '/bin/x"', "1.2.3.4\n5.6.7.8", "Qz}Xy{Wv", "ééééé"]


def known_examples(test):
    for value in KNOWN:
        test = example(value=value)(test)
    return test


@pytest.mark.parametrize(("where", "key"), FIELDS, ids=[f"{w}.{k}" for w, k in FIELDS])
def test_every_field_renders_the_guides_tree_with_a_plain_word(where, key):
    """The baseline of the property below: the marker word changes no directive."""
    glob, script, inst = variables(where, key, MARKER)
    assert tree(rendered(glob, script, inst), "x") == tree(rendered(*variables(where, key, "x")), "x")


def auth_pass_rule_texts():
    """The auth_pass refusals for fixed bad values: a drawn value that is part of their wording (e.g.
    "'#", "a ") shows up in any refusal without being echoed, so the echo check skips it."""
    texts = []
    for bad in ("{", "a b", "ééééé", "123456789", ""):
        texts += refusals(*variables("instance", "auth_pass", bad))[0]
    return texts


AUTH_PASS_RULE_TEXTS = auth_pass_rule_texts()


@pytest.mark.parametrize(("where", "key"), FIELDS, ids=[f"{w}.{k}" for w, k in FIELDS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
@known_examples
def test_no_value_adds_a_directive(where, key, value):
    field = (where, key)
    glob, script, inst = variables(where, key, value)
    errors, resolved = refusals(glob, script, inst)
    if key == "auth_pass" and len(value) >= 2 and not any(value in text for text in AUTH_PASS_RULE_TEXTS):
        assert not any(value in e for e in errors), errors
    if errors and key != "ansible_managed":
        return  # refused before any template is written: nothing to render
    if (key, value) in SWITCHED_OFF:
        return  # the documented "none" value: the directives are left out on purpose
    text = rendered(glob, script, resolved[0])
    try:  # where the value is a directive's name (a list element, an extra line), its first word
        first = agent_config._tokenize(value, "v")[0].text
    except (agent_config.ConfigError, IndexError):
        first = MARKER
    expected = tree(rendered(*variables(where, key, MARKER)), first)
    assert tree(text) == expected, (field, value, text)
    if key not in ("keepalived_global_defs_extra", "ansible_managed"):
        # The agent runs on this same file: it must read every value the filter lets through.
        agent_config.parse(text, "k.conf")


def test_the_option_blocks_baseline_is_accepted_and_rendered():
    blocks, instances = option_variables("process", "name", "chk_proc")
    errors, resolved = option_refusals(blocks, instances)
    assert errors == []
    names = [name for name, _children in tree(option_rendered(blocks, resolved))]
    assert {"vrrp_track_process", "vrrp_track_file", "vrrp_sync_group"} <= set(names), names


@pytest.mark.parametrize(("where", "key"), OPTION_FIELDS, ids=[f"{w}.{k}" for w, k in OPTION_FIELDS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
@known_examples
def test_no_value_of_an_option_block_adds_a_directive(where, key, value):
    """The same property for the issue-12 options (the agent is not asked: it refuses vrrp_track_file
    and sync groups by design, with their names)."""
    blocks, instances = option_variables(where, key, value)
    errors, resolved = option_refusals(blocks, instances)
    if errors:
        return  # refused before any template is written
    text = option_rendered(blocks, resolved)
    try:
        first = agent_config._tokenize(value, "v")[0].text
    except (agent_config.ConfigError, IndexError):
        first = MARKER
    marked_blocks, marked_instances = option_variables(where, key, MARKER)
    expected = tree(option_rendered(marked_blocks, option_refusals(marked_blocks, marked_instances)[1]), first)
    assert tree(text) == expected, ((where, key), value, text)
