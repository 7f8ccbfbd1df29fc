"""Print a security group's rules as JSON, read through the real SDK from the lab's emulator:
``ingress.py SG DESCRIPTION`` -> {"version", "own": [CIDR...], "foreign": [rule...]} where "own" are the
inbound rules with that description and "foreign" every other rule of both directions, without their
PolicyIndex (which shifts when rules are added before them).

The target's way to see the rules the module does not return. Credentials and
endpoint come from the environment (TENCENTCLOUD_*), never from the command line."""
import json
import os
import sys

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

http = HttpProfile(protocol=os.environ["TENCENTCLOUD_SCHEME"], endpoint=os.environ["TENCENTCLOUD_ENDPOINT"])
client = vpc_client.VpcClient(credential.Credential(os.environ["TENCENTCLOUD_SECRET_ID"],
                                                    os.environ["TENCENTCLOUD_SECRET_KEY"]),
                              os.environ["TENCENTCLOUD_REGION"], ClientProfile(httpProfile=http))
answer = client.call_json("DescribeSecurityGroupPolicies", {"SecurityGroupId": sys.argv[1]})["Response"]
policy_set = answer["SecurityGroupPolicySet"]
mine = sys.argv[2]
own = [r["CidrBlock"] for r in policy_set["Ingress"] if r["PolicyDescription"] == mine]
foreign = [dict({k: v for k, v in r.items() if k != "PolicyIndex"}, Direction=direction)
           for direction in ("Ingress", "Egress") for r in policy_set[direction] if r["PolicyDescription"] != mine]
print(json.dumps({"version": policy_set["Version"], "own": own, "foreign": foreign}))
