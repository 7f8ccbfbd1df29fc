# Copyright: havip.tencentcloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a VRRP daemon is not where it should be, from its own log since it last started: which track
script fails and which instance went to FAULT (and why, where the daemon says). site.yml shows it
per node when a cluster has no single MASTER (R5).

Keepalived 2.x writes (journal of its unit): ``Starting Keepalived vX`` when the daemon starts, then
``Starting VRRP child process, pid=N`` (its parent writes that after the fork, so the child's first
lines, a check failing from the start among them, can come before it),
``VRRP_Script(NAME) failed (exited with status 1)`` / ``... succeeded``, ``VRRP_Script(NAME)
timed_out``, ``(INSTANCE) Entering FAULT STATE`` (sometimes with a reason in parentheses) and
``(INSTANCE) Cannot use unicast without any peers - going to fault state``. The collection's agent
writes key=value lines: ``event=started``, ``event=track_script script=NAME ok=False result=...``,
``event=state_change instance=I old=... new=FAULT reason="..."``.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

KEEPALIVED_START = re.compile(r"Starting Keepalived v")
# Where a log has lost the daemon's start (journalctl --lines), the last start of its VRRP child.
KEEPALIVED_CHILD_START = re.compile(r"Starting VRRP child process")
KEEPALIVED_SCRIPT = re.compile(r"VRRP_Script\((?P<name>[^)\s]+)\) (?P<what>[A-Za-z_]+)(?: \((?P<detail>[^)]*)\))?")
KEEPALIVED_STATE = re.compile(
    r"\((?P<inst>[^)\s]+)\):? [Ee]ntering (?P<state>FAULT|BACKUP|MASTER) (?:STATE|state)(?: \((?P<detail>[^)]*)\))?"
)
KEEPALIVED_FAULT_CAUSE = re.compile(r"\((?P<inst>[^)\s]+)\) (?P<detail>[^()]*going to fault state.*)$")
AGENT_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
DAEMONS = ("keepalived", "agent")


def _fields(line):
    return {key: value[1:-1].replace('\\"', '"').replace("\\\\", "\\") if value.startswith('"') else value
            for key, value in AGENT_FIELD.findall(line)}


def _last(lines, starts):
    return max((index for index, line in enumerate(lines) if starts(line)), default=None)


def _since_last_start(lines, daemon):
    if daemon == "agent":
        start = _last(lines, lambda line: _fields(line).get("event") == "started")
    else:
        start = _last(lines, KEEPALIVED_START.search)
        if start is None:
            start = _last(lines, KEEPALIVED_CHILD_START.search)
    return lines[start or 0:]


def _keepalived(lines):
    scripts, states, causes = {}, {}, {}
    for line in lines:
        match = KEEPALIVED_SCRIPT.search(line)
        if match:
            what = match.group("what")
            # "considered (un)successful on reload": the state a reload carried over.
            ok = what == "succeeded" or (what == "considered" and " considered successful" in line)
            detail = match.group("detail") or line[match.start("what"):].strip().replace("_", " ")
            scripts[match.group("name")] = None if ok else detail
            continue
        match = KEEPALIVED_STATE.search(line)
        if match:
            states[match.group("inst")] = (match.group("state"), match.group("detail"))
            continue
        match = KEEPALIVED_FAULT_CAUSE.search(line)
        if match:
            causes[match.group("inst")] = match.group("detail").strip()
    return scripts, {inst: (state, detail or causes.get(inst)) for inst, (state, detail) in states.items()}


def _agent(lines):
    scripts, states = {}, {}
    for line in lines:
        fields = _fields(line)
        if fields.get("event") == "track_script" and "script" in fields:
            ok = fields.get("ok") == "True"
            scripts[fields["script"]] = None if ok else fields.get("result") or "failed"
        elif fields.get("event") == "state_change" and "instance" in fields:
            states[fields["instance"]] = (fields.get("new", "?"), fields.get("reason") or None)
    return scripts, states


def vrrp_state_reasons(log, daemon="keepalived"):
    """The reasons, one sentence each, that the daemon's log since its last start gives for a node
    not being MASTER or BACKUP: failing track scripts, then instances in FAULT."""
    if daemon not in DAEMONS:
        raise AnsibleFilterError(f"vrrp_state_reasons: daemon={daemon!r}: must be keepalived or agent")
    lines = _since_last_start(str(log or "").splitlines(), daemon)
    scripts, states = (_keepalived if daemon == "keepalived" else _agent)(lines)
    reasons = [f"track script {name} failed ({detail})" for name, detail in scripts.items() if detail]
    for inst, (state, detail) in states.items():
        if state == "FAULT":
            reasons.append(f"instance {inst} in FAULT" + (f" ({detail})" if detail else ""))
    return reasons


class FilterModule:
    """Why a VRRP daemon is in its state."""

    def filters(self):
        return {"vrrp_state_reasons": vrrp_state_reasons}
