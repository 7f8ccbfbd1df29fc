"""A local Tencent Cloud VPC API emulator for rehearsing the collection's playbooks (lab only).

Run it with ``python3 -m lab.emulator --listen 127.0.0.1:PORT --world lab/emulator/world.json``;
see ``__main__.py`` for the options and ``server.py`` for the lab's admin endpoints.
"""
