"""Issue 14: the API calls of an idempotent second run, per module, counted from the emulator's
request log (the figures the closing note reports). A second run reads only, and reads little."""
import pytest
from modules_support import INS1, INS2, SUBNET, VPC

# module -> (options, the reads its idempotent re-run makes)
SECOND_RUN = {
    "havip": ({"name": "ha", "vpc_id": VPC, "subnet_id": SUBNET, "address": "172.16.16.12",
               "associated_instances": [INS1, INS2], "tags": {"app": "web"}},
              {"DescribeHaVips": 1}),
    "eip": ({"name": "web", "internet_max_bandwidth_out": 5, "tags": {"app": "web"}}, {"DescribeAddresses": 1}),
    "havip_eip": (None, {"DescribeHaVips": 1, "DescribeAddresses": 1}),
    "havip_info": ({"filters": {"vpc-id": VPC}}, {"DescribeHaVips": 1}),
    "eip_info": ({"filters": {"address-name": "web"}}, {"DescribeAddresses": 1}),
}


@pytest.mark.parametrize("module", sorted(SECOND_RUN))
def test_an_idempotent_second_run_only_reads(run, lab, module):
    options, expected = SECOND_RUN[module]
    havip = run("havip", **SECOND_RUN["havip"][0])["havip"]
    eip = run("eip", **SECOND_RUN["eip"][0])["eip"]
    bind = {"havip_id": havip["id"], "address_ip": eip["address_ip"]}
    run("havip_eip", **bind)
    options = options or bind
    first = run(module, **options)
    assert first.get("changed") is False and first.get("failed") is not True, first
    mark = lab.admin("/_lab/log")["last_seq"]
    again = run(module, **options)
    assert again.get("changed") is False
    entries = lab.admin(f"/_lab/log?since={mark}")["entries"]
    counts = {}
    for entry in entries:
        counts[entry["action"]] = counts.get(entry["action"], 0) + 1
    assert not [e for e in entries if e["mutating"]]
    assert counts == expected
