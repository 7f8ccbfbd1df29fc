# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for Tencent Cloud's asynchronous tasks.

Two documented kinds (VPC API 2017-03-12):
- DeleteHaVip, HaVipAssociateAddressIp, HaVipDisassociateAddressIp: "poll DescribeVpcTaskResult
  with the RequestId this call returns"; Status SUCCESS / FAILED / RUNNING.
- AllocateAddresses, ReleaseAddresses, ModifyAddressesBandwidth: a TaskId (string in the answer,
  integer in DescribeTaskResult's request); Result SUCCESS / FAILED / RUNNING.
Either poll retries what ``call`` retries (throttling, InternalError.ModuleError...).
"""

from ansible_collections.havip.tencentcloud.plugins.module_utils.tencentcloud import GoalReached

TASK_POLL_DELAY = 1.0


def _wait(module, poll, timeout, action, task_id, *, delay, fail=True):
    state = {}

    def done():
        state.clear()
        state.update(poll())
        return state.get("status") in ("SUCCESS", "FAILED")

    module.wait_until(done, timeout, f"{action} task {task_id} to finish", delay)
    if state["status"] == "FAILED" and fail:
        module.fail_json(msg="{} task {} failed: {}".format(action, task_id, state.get("output") or "no detail"),
                         request_id=str(task_id), action=action)
    return state


def wait_vpc_task(module, answer, timeout, action, *, delay=TASK_POLL_DELAY, fail=True):
    """Wait for the task of an answer whose RequestId is the task id (DescribeVpcTaskResult).
    An answer that is ``GoalReached`` (the call's own answer was lost) has no task: nothing to wait.
    With ``fail=False`` a FAILED task is returned ({"status": "FAILED", ...}) instead of failing."""
    if isinstance(answer, GoalReached) or not answer.get("RequestId"):
        return {}
    task_id = answer["RequestId"]

    def poll():
        reply = module.call_or_fail("DescribeVpcTaskResult", {"TaskId": task_id})
        return {"status": reply.get("Status"), "output": reply.get("Output")}

    return _wait(module, poll, timeout, action, task_id, delay=delay, fail=fail)


def wait_task(module, answer, timeout, action, *, delay=TASK_POLL_DELAY):
    """Wait for the TaskId of an EIP action (DescribeTaskResult, TaskId sent as an integer)."""
    if isinstance(answer, GoalReached) or answer.get("TaskId") in (None, ""):
        return {}
    raw = answer["TaskId"]
    try:
        task_id = int(raw)
    except (TypeError, ValueError):
        module.fail_json(msg=f"{action} answered TaskId {raw!r}, not the documented integer: cannot poll "
                             "DescribeTaskResult", action=action)

    def poll():
        reply = module.call_or_fail("DescribeTaskResult", {"TaskId": task_id})
        return {"status": reply.get("Result"), "output": reply.get("Result")}

    return _wait(module, poll, timeout, action, task_id, delay=delay)
