"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads (unreachable here).

ansible-test runs `python get_pip_X.py [--no-setuptools] [--no-wheel] pip==X ...` inside an empty
virtual environment. This does the same with what every CPython ships: ensurepip installs its
bundled pip, which then installs the requested packages from the configured package index.
ansible-test runs it with a filtered environment, so lab/sanity.sh writes the caller's pip and
TLS settings (PIP_*, SSL_CERT_FILE, ...) into PIP_ENVIRONMENT below when it installs this file in
ansible-test's cache.
"""
import ensurepip
import os
import subprocess
import sys

PIP_ENVIRONMENT = {}  # filled in by lab/sanity.sh

os.environ.update(PIP_ENVIRONMENT)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
