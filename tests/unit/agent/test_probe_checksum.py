"""The drill's probe (playbooks/drill/files/havip_probe.py) is copied alone to the probe host, so it keeps
its own Internet checksum for ICMP echo: it must give what the agent's gives."""
import importlib.util
import pathlib
import random

from havip_vrrp.packets import inet_checksum

PROBE = pathlib.Path(__file__).resolve().parents[3] / "playbooks" / "drill" / "files" / "havip_probe.py"
spec = importlib.util.spec_from_file_location("havip_probe", PROBE)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


def test_the_probes_checksum_is_the_agents():
    rng = random.Random(12)
    for size in (0, 1, 2, 19, 64, 1499):
        data = bytes(rng.randrange(256) for _byte in range(size))
        assert probe.checksum(data) == inet_checksum(data)
