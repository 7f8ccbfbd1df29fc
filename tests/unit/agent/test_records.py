"""records.py: the subset of dataclasses the agent uses, without its imports (issue 13, RSS)."""

import subprocess
import sys

import pytest
from havip_vrrp import records
from havip_vrrp.machine import AddVips, MachineConfig, RemoveVips, SendAdvert, Stats


def test_frozen_records_compare_by_class_and_fields_hash_and_refuse_assignment():
    assert AddVips(("a",)) == AddVips(vips=("a",))
    assert AddVips(("a",)) != RemoveVips(("a",))  # same fields, another class
    assert AddVips(("a",)) in [RemoveVips(("b",)), AddVips(("a",))]
    assert hash(SendAdvert(100)) == hash(SendAdvert(100))
    assert repr(SendAdvert(100)) == "SendAdvert(priority=100)"
    with pytest.raises(AttributeError):
        SendAdvert(100).priority = 1


def test_defaults_factories_post_init_and_replace():
    one, two = Stats(), Stats()
    one.peers["x"] = (1, 0.0)
    assert two.peers == {}  # a fresh dict each
    with pytest.raises(TypeError):
        hash(one)  # mutable records are unhashable, as dataclasses
    mc = MachineConfig("VI_1", 51, 100, 1.0, "10.0.0.1")
    assert mc.version == 2 and mc.vips == ()
    assert records.replace(mc, priority=200).priority == 200 and mc.priority == 100
    with pytest.raises(ValueError, match="priority"):
        records.replace(mc, priority=0)  # __post_init__ runs
    with pytest.raises(TypeError, match="missing argument 'primary_ip'"):
        MachineConfig("VI_1", 51, 100, 1.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        SendAdvert(priority=1, bogus=2)


def test_the_agent_does_not_import_dataclasses_or_inspect():
    code = ("import sys, havip_vrrp.__main__, havip_vrrp.daemon, havip_vrrp.io_socket, havip_vrrp.io_arp;"
            "print(sorted({'dataclasses', 'inspect', 'tempfile', 'ipaddress'} & set(sys.modules)))")
    agent_dir = records.__file__.rsplit("/havip_vrrp/", 1)[0]
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": agent_dir}).stdout
    assert out.strip() == "[]"
