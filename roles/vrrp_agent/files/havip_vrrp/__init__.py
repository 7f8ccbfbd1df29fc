"""havip_vrrp: a small VRRP (RFC 3768 / RFC 5798) agent, Python standard library only.

The protocol logic lives in a sans-IO state machine (machine.py); packets.py holds the wire
codecs; config.py parses the keepalived.conf subset the collection renders (guide point R3);
the io_*.py, scripts.py, daemon.py and status.py modules are the thin I/O layer around them.
Runs on Python >= 3.8.
"""

__version__ = "0.1.0"
