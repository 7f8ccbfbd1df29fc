"""The unit tests' one ansible-playbook runner (playbook_runner.py): the collection under test is
the one it finds, extra variables arrive as given, and a named secret in the output fails the run
without the failure message repeating it."""

from __future__ import annotations

import pytest

from tests.unit.playbook_runner import ansible_playbook

PLAY = """
- name: Say what it was given
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Print the word and where Ansible looks for collections
      ansible.builtin.debug:
        msg: "word={{ word }} collection={{ lookup('ansible.builtin.config', 'COLLECTIONS_PATHS') }}"
"""


@pytest.fixture
def play(tmp_path):
    path = tmp_path / "say.yml"
    path.write_text(PLAY)
    return path


def test_extra_vars_and_the_collections_path(play):
    proc = ansible_playbook("-i", "localhost,", "-c", "local", play, extra_vars={"word": "s3cr{e}t é"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "word=s3cr{e}t é" in proc.stdout
    assert "build/collections" in proc.stdout


def test_a_named_secret_in_the_output_fails_without_being_repeated(play):
    with pytest.raises(AssertionError) as failure:
        ansible_playbook("-i", "localhost,", "-c", "local", play, extra_vars={"word": "hunter2x"},
                         secrets=("absent", "hunter2x"))
    assert "secret 2 of" in str(failure.value)
    assert "hunter2x" not in str(failure.value)
