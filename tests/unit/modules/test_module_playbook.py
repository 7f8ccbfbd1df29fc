"""The modules through ansible-playbook for real (AnsiballZ, the action group, module_defaults, -vvv --diff)."""
import json
import sys
import textwrap

from modules_support import REGION, SECRET_ID, SECRET_KEY, SUBNET, VPC

from tests.unit.playbook_runner import ansible_playbook

PLAYBOOK = textwrap.dedent("""
    - hosts: localhost
      gather_facts: false
      module_defaults:
        group/havip.tencentcloud.tencentcloud:
          secret_id: "{{ lookup('env', 'LAB_SECRET_ID') }}"
          secret_key: "{{ lookup('env', 'LAB_SECRET_KEY') }}"
          region: %(region)s
          endpoint: "{{ lookup('env', 'LAB_ENDPOINT') }}"
          scheme: http
          retry_delay: 0.01
      tasks:
        - name: HAVIP of the guide (R1)
          havip.tencentcloud.havip:
            name: havip-guide
            vpc_id: %(vpc)s
            subnet_id: %(subnet)s
            address: 172.16.16.12
          register: havip
        - name: An EIP (R6)
          havip.tencentcloud.eip:
            name: havip-guide-eip
          register: eip
        - name: Bound to the HAVIP (R6)
          havip.tencentcloud.havip_eip:
            havip_id: "{{ havip.havip.id }}"
            address_ip: "{{ eip.eip.address_ip }}"
          register: bound
        - name: Seen by havip_info
          havip.tencentcloud.havip_info:
            filters:
              vip: 172.16.16.12
          register: found
        - name: Report
          ansible.builtin.copy:
            content: "{{ {'changed': [havip.changed, eip.changed, bound.changed], 'found': found.havips} | to_json }}"
            dest: "{{ lookup('env', 'LAB_REPORT') }}"
            mode: "0600"
""") % {"region": REGION, "vpc": VPC, "subnet": SUBNET}


def play(lab, tmp_path):
    book = tmp_path / "site.yml"
    book.write_text(PLAYBOOK)
    report = tmp_path / "report.json"
    proc = ansible_playbook(
        "-vvv", "--diff", "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", book,
        env={"LAB_SECRET_ID": SECRET_ID, "LAB_SECRET_KEY": SECRET_KEY, "LAB_ENDPOINT": f"127.0.0.1:{lab.port}",
             "LAB_REPORT": str(report), "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
        secrets=(SECRET_KEY,), timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(report.read_text())


def test_playbook_converges_then_is_idempotent(lab, tmp_path):
    first = play(lab, tmp_path)
    assert first["changed"] == [True, True, True]
    assert first["found"][0]["address_ip"].startswith("198.51.100.")
    lab.reset_calls()
    second = play(lab, tmp_path)
    assert second["changed"] == [False, False, False]
    assert lab.calls()["mutating"] == 0
