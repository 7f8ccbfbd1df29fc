"""notify_action.sh quotes the log and state paths (issue 11, R7).

The paths go into a bash script: a `$(...)`, a backquote, a `;` or a quote in them used to run as
code when Keepalived called the script. They are quoted now; the control characters that no
quoting makes safe (newline, NUL) are refused by preflight before anything is written.
"""

from __future__ import annotations

import json
import subprocess

from test_keepalived_template import fresh_render_dir, run_playbook

HOSTILE = "l$(touch${IFS}PWNED)`touch${IFS}PWNED2`;x='q'&{a,b}.log"


def test_shell_characters_in_the_paths_are_data(tmp_path):
    render_dir = fresh_render_dir("notify-paths")
    log, state = tmp_path / HOSTILE, tmp_path / f"state-{HOSTILE}"
    extra = {"keepalived_notify_log": str(log), "keepalived_state_dir": str(state)}
    proc = run_playbook(render_dir, "-e", json.dumps(extra))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    script = render_dir / "HAVIP-01" / "notify_action.sh"
    for state_name in ("BACKUP", "MASTER"):
        subprocess.run(["bash", str(script), state_name], check=True, cwd=tmp_path)
    assert (state / "state").read_text() == "MASTER"
    assert (state / "vip_check_failed_count").read_text() == "0"
    assert log.read_text().count("notify_") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([log.name, state.name])  # nothing else ran


def test_a_newline_in_a_path_stops_preflight_before_anything_is_written():
    render_dir = fresh_render_dir("notify-newline")
    proc = run_playbook(render_dir, "-e", json.dumps({"keepalived_state_dir": "/var/keepalived\nrm -rf /"}))
    assert proc.returncode != 0
    assert "keepalived_state_dir='/var/keepalived\\\\nrm -rf /': holds the control character '\\\\n'" in proc.stdout, \
        proc.stdout[-3000:]
    assert not any(render_dir.rglob("notify_action.sh"))
