"""Renders one template through Ansible's templar, in a child process (test_keepalived_conf_injection).

Ansible's collection loader, once installed in a process, changes how `ansible_collections` is
imported there; the module tests import it from sys.path. So the templar lives in a child: one JSON
line of variables in, one JSON line with the rendered text (or the error) out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


class Renderer:
    def __init__(self, template: Path, collections: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, str(template), str(collections)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, variables: dict) -> str:
        self.proc.stdin.write(json.dumps(variables) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["text"]


def serve(template: str, collections: str) -> None:
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415 - only in the child
    from ansible.plugins.loader import init_plugin_loader  # noqa: PLC0415
    from ansible.template import Templar, trust_as_template  # noqa: PLC0415

    init_plugin_loader([collections])
    source = trust_as_template(Path(template).read_text())
    for line in sys.stdin:
        try:
            answer = {"text": Templar(loader=DataLoader(), variables=json.loads(line)).template(source)}
        except Exception as err:  # reported to the test, which fails on it
            answer = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(*sys.argv[1:3])
