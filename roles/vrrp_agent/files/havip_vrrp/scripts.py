"""Track and notify scripts, run as Keepalived runs them (guide point R3: vrrp_script checkhaproxy,
notify_master/backup/fault/stop calling notify_action.sh; R4h: a hung script is a failure).

Nothing here blocks: scripts are started with Popen and polled from the daemon loop.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import signal
import subprocess

from .config import VrrpScript
from .config import command_words as split_command
from .machine import MachineConfig


def _demote(user: str | None):
    """A preexec function that drops to ``script_user`` (user [group]) when running as root."""
    if not user or os.geteuid() != 0:
        return None
    name, _unused, group = user.partition(" ")
    try:
        entry = pwd.getpwnam(name)
        gid = entry.pw_gid
        if group:
            import grp  # noqa: PLC0415 - only needed with a group

            gid = grp.getgrnam(group).gr_gid
    except KeyError:
        # Counted as a script that cannot start (a failure), never a crash of the agent.
        raise OSError(errno.EINVAL, f"unknown script_user {user!r}") from None
    if entry.pw_uid == os.geteuid() and gid == os.getegid():
        # Already that user (script_user root, the collection's default): nothing to drop. Calling
        # setgroups() anyway needs CAP_SETGID, which the hardened systemd unit does not grant (it
        # keeps CAP_NET_RAW and CAP_NET_ADMIN only): every script would fail to start.
        return None

    def demote() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(entry.pw_uid)

    return demote


def spawn(argv: list, script_user: str | None = None) -> subprocess.Popen:
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout kills the whole group
            preexec_fn=_demote(script_user),  # noqa: PLW1509 - no threads in the agent
            close_fds=True,
        )
    except subprocess.SubprocessError as err:
        # A failed preexec (dropping to script_user without the capabilities for it) is a script
        # that cannot start, never a crash of the agent.
        raise OSError(errno.EPERM, f"cannot switch to script_user {script_user!r}: {err}") from None


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)


class TrackScript:
    """One vrrp_script: run every ``interval``; exit 0 within ``timeout`` is a success, anything
    else (non-zero, killed after the timeout, cannot start) a failure. ``fall`` failures in a row
    make it failed, ``rise`` successes in a row make it OK again (Keepalived semantics)."""

    def __init__(self, script: VrrpScript, script_user: str | None = None) -> None:
        self.script = script
        self.script_user = script_user
        self.ok = True  # Keepalived's default initial state, without init_fail
        self.next_run = 0.0
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self._fails = 0
        self._passes = 0
        self.last_result: str = "not run"

    @property
    def deadline(self) -> float:
        return self.started + self.script.effective_timeout if self.proc else self.next_run

    def poll(self, now: float) -> bool | None:
        """Start or check the script; returns the new ok value when it changed, else None."""
        if self.proc is None:
            if now < self.next_run:
                return None
            self.started = now
            try:
                self.proc = spawn(split_command(self.script.script), self.script_user)
            except OSError as err:
                self.next_run = now + self.script.interval
                return self._result(False, f"cannot start: {err.strerror}")
            return None
        code = self.proc.poll()
        if code is None:
            if now < self.started + self.script.effective_timeout:
                return None
            kill_group(self.proc)
            self.proc = None
            self.next_run = self.started + self.script.interval
            return self._result(False, "timeout")
        self.proc = None
        self.next_run = self.started + self.script.interval
        return self._result(code == 0, f"exit {code}")

    def _result(self, success: bool, text: str) -> bool | None:
        self.last_result = text
        if success:
            self._passes += 1
            self._fails = 0
            if not self.ok and self._passes >= self.script.rise:
                self.ok = True
                return True
        else:
            self._fails += 1
            self._passes = 0
            if self.ok and self._fails >= self.script.fall:
                self.ok = False
                return False
        return None

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            self.proc = None


def notify_commands(config: MachineConfig, state: str, priority: int) -> list:
    """The commands Keepalived runs for a state change: notify_<state> as written, then the
    generic ``notify`` with the arguments ``INSTANCE <name> <state> <priority>``."""
    commands = [split_command(command) for when, command in config.notify_scripts if when == state]
    commands += [
        [*split_command(command), "INSTANCE", config.name, state, str(priority)]
        for when, command in config.notify_scripts
        if when == "ANY"
    ]
    return commands


class NotifyRunner:
    """Starts notify scripts without waiting; reaps them later, killing any still running after
    ``timeout`` seconds."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.running: list = []

    def run(self, argv: list, now: float, script_user: str | None = None) -> str | None:
        try:
            self.running.append((spawn(argv, script_user), now))
        except OSError as err:
            return err.strerror
        return None

    def reap(self, now: float) -> None:
        alive = []
        for proc, started in self.running:
            if proc.poll() is not None:
                continue
            if now - started > self.timeout:
                kill_group(proc)
                continue
            alive.append((proc, started))
        self.running = alive

    def wait(self, timeout: float) -> None:
        for proc, _unused in self.running:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc)
        self.running = []
