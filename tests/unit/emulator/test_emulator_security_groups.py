"""Security groups in the emulator, through the real SDK: listing, rules with Version and PolicyIndex,
the documented Protocol values (no IP protocol number: VRRP is written as ALL to a /32), Port only
with TCP/UDP, one direction per request, deletes by index or by content, and the world's rules."""
from emulator_support import outcome

SG, OTHER_SG = "sg-lab00001", "sg-lab00002"
VRRP = {"Protocol": "ALL", "CidrBlock": "172.16.16.6/32", "Action": "ACCEPT", "PolicyDescription": "havip-vrrp"}


def policies(api, sg=SG):
    return api("DescribeSecurityGroupPolicies", SecurityGroupId=sg)["SecurityGroupPolicySet"]


def create(api, *rules, sg=SG, **policy_set):
    return api("CreateSecurityGroupPolicies", SecurityGroupId=sg,
               SecurityGroupPolicySet={"Ingress": list(rules), **policy_set})


def test_groups_are_listed_by_id_filter_and_page(api):
    listed = api("DescribeSecurityGroups")
    assert listed["TotalCount"] == 2
    assert [g["SecurityGroupId"] for g in listed["SecurityGroupSet"]] == [SG, OTHER_SG]
    by_id = api("DescribeSecurityGroups", SecurityGroupIds=[OTHER_SG])["SecurityGroupSet"]
    assert [g["SecurityGroupName"] for g in by_id] == ["havip-other"]
    by_name = api("DescribeSecurityGroups", Filters=[{"Name": "security-group-name", "Values": ["havip-nodes"]}])
    assert [g["SecurityGroupId"] for g in by_name["SecurityGroupSet"]] == [SG]
    # Offset and Limit are strings in this action's SDK model.
    page = api("DescribeSecurityGroups", Offset="1", Limit="1")
    assert page["TotalCount"] == 2 and [g["SecurityGroupId"] for g in page["SecurityGroupSet"]] == [OTHER_SG]


def test_world_rules_are_listed_with_index_and_version(api):
    listed = policies(api)
    assert listed["Version"] == "0"
    assert [p["PolicyIndex"] for p in listed["Ingress"]] == [0, 1, 2, 3, 4]
    monitoring = listed["Ingress"][2]
    assert (monitoring["Protocol"], monitoring["Port"], monitoring["CidrBlock"], monitoring["Action"],
            monitoring["PolicyDescription"]) == ("ALL", "ALL", "172.16.16.9/32", "ACCEPT", "monitoring host")
    assert listed["PolicyStatistics"] == {"IngressPolicyTotalCount": 5, "EgressPolicyTotalCount": 1, "TotalCount": 6}


def test_create_appends_or_inserts_and_bumps_the_version(api):
    create(api, VRRP, Version="0")
    after = policies(api)
    assert after["Version"] == "1"
    assert after["Ingress"][-1]["CidrBlock"] == "172.16.16.6/32"
    create(api, dict(VRRP, CidrBlock="172.16.16.5", PolicyIndex=0, Protocol="all", Action="accept"))
    first = policies(api)["Ingress"][0]
    assert (first["Protocol"], first["Action"], first["CidrBlock"]) == ("ALL", "ACCEPT", "172.16.16.5")
    assert policies(api)["Version"] == "2"
    assert policies(api, OTHER_SG)["Version"] == "0"  # another group is untouched


def test_a_stale_version_is_refused_and_changes_nothing(api):
    create(api, VRRP)
    assert outcome(lambda: create(api, dict(VRRP, CidrBlock="172.16.16.5/32"), Version="0")) == \
        "UnsupportedOperation.VersionMismatch"
    assert len(policies(api)["Ingress"]) == 6


def test_documented_protocols_only_and_port_only_with_tcp_udp(api):
    assert outcome(lambda: create(api, dict(VRRP, Protocol="112"))) == "InvalidParameterValue.Range"
    assert outcome(lambda: create(api, dict(VRRP, Protocol="VRRP"))) == "InvalidParameterValue.Range"
    assert outcome(lambda: create(api, dict(VRRP, Port="ALL"))) == "InvalidParameter.Coexist"
    assert outcome(lambda: create(api, dict(VRRP, Protocol="ICMP", Port="80"))) == "InvalidParameter.Coexist"
    for protocol in ("TCP", "UDP", "ICMP", "GRE", "icmpv6"):
        cidr = "2001:db8::/64" if protocol == "icmpv6" else "172.16.16.6/32"
        field = "Ipv6CidrBlock" if protocol == "icmpv6" else "CidrBlock"
        rule = {"Protocol": protocol, "Action": "ACCEPT", field: cidr}
        if protocol in ("TCP", "UDP"):
            rule["Port"] = "8000-8010"
        create(api, rule)
    assert {p["Protocol"] for p in policies(api)["Ingress"][5:]} == {"TCP", "UDP", "ICMP", "GRE", "ICMPv6"}


def test_rule_checks(api):
    assert outcome(lambda: create(api, dict(VRRP, PolicyDescription="d" * 101))) == "InvalidParameterValue.TooLong"
    create(api, dict(VRRP, PolicyDescription="d" * 100))
    assert outcome(lambda: create(api, dict(VRRP, PolicyDescription="other"))) == \
        "UnsupportedOperation.DuplicatePolicy"
    assert outcome(lambda: create(api, dict(VRRP, CidrBlock="172.16.16.300/32"))) == "InvalidParameterValue.Malformed"
    assert outcome(lambda: create(api, dict(VRRP, Action="ALLOW"))) == "InvalidParameterValue.Range"
    assert outcome(lambda: create(api, dict(VRRP, PolicyIndex=9))) == "InvalidParameterValue.Range"
    assert outcome(lambda: api("CreateSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Ingress": [VRRP], "Egress": [VRRP]})) == "InvalidParameter.Coexist"
    assert outcome(lambda: api("CreateSecurityGroupPolicies", SecurityGroupId=SG,
                               SecurityGroupPolicySet={})) == "InvalidParameterValue.Empty"
    assert outcome(lambda: create(api, VRRP, sg="sg-zzzzzzzz")) == "ResourceNotFound"


def test_delete_by_content_with_version_leaves_other_rules(api):
    create(api, VRRP, dict(VRRP, CidrBlock="172.16.16.5/32"))
    version = policies(api)["Version"]
    api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Version": version, "Ingress": [{"Protocol": "ALL", "CidrBlock": "172.16.16.6/32", "Action": "ACCEPT"}]})
    after = policies(api)
    assert int(after["Version"]) == int(version) + 1
    assert [p["CidrBlock"] for p in after["Ingress"]] == [
        "10.0.0.0/8", "0.0.0.0/0", "172.16.16.9/32", "172.16.16.0/24", "0.0.0.0/0", "172.16.16.5/32"]
    # The same delete again: no such rule (and the old Version is stale).
    assert outcome(lambda: api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Ingress": [{"Protocol": "ALL", "CidrBlock": "172.16.16.6/32", "Action": "ACCEPT"}]})) == "ResourceNotFound"
    assert outcome(lambda: api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Version": version, "Ingress": [{"PolicyIndex": 5}]})) == "UnsupportedOperation.VersionMismatch"


def test_delete_by_index_and_one_way_per_request(api):
    assert outcome(lambda: api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Ingress": [{"PolicyIndex": 0}, {"Protocol": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "DROP"}]})) == \
        "InvalidParameter.Coexist"
    assert outcome(lambda: api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={
        "Ingress": [{"PolicyIndex": 5}]})) == "InvalidParameterValue.Range"
    api("DeleteSecurityGroupPolicies", SecurityGroupId=SG, SecurityGroupPolicySet={"Egress": [{"PolicyIndex": "0"}]})
    assert policies(api)["Egress"] == []
    assert len(policies(api)["Ingress"]) == 5


def test_policy_filters(api):
    found = api("DescribeSecurityGroupPolicies", SecurityGroupId=SG, Filters=[
        {"Name": "description", "Values": ["monitoring host"]}])["SecurityGroupPolicySet"]
    assert [p["CidrBlock"] for p in found["Ingress"]] == ["172.16.16.9/32"] and found["Egress"] == []


def test_changes_are_mutating_in_the_request_log(lab, api):
    lab.admin("/_lab/log/reset", {})
    policies(api)
    create(api, VRRP)
    entries = lab.admin("/_lab/log")["entries"]
    assert [(e["action"], e["mutating"]) for e in entries] == [
        ("DescribeSecurityGroupPolicies", False), ("CreateSecurityGroupPolicies", True)]
