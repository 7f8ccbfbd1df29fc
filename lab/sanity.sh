#!/usr/bin/env bash
# ansible-test sanity on a fresh copy of the collection under build/sanity/ (lab/collection-copy.sh
# says why), on the controller's Python.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# ansible-test bootstraps pip in its sanity venvs with a downloaded script; offline, a local stand-in.
pip_version=$(python3 - <<'PY'
import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(r.get_venv_packages)).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
python3 - "$top/lab/get_pip_shim.py" "$cache" <<'PY'
import json, os, sys
keep = {k: v for k, v in os.environ.items()
        if k.startswith("PIP_") or k in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")}
text = open(sys.argv[1]).read().replace("PIP_ENVIRONMENT = {}", "PIP_ENVIRONMENT = " + json.dumps(keep), 1)
open(sys.argv[2], "w").write(text)
PY
dest=$("$top/lab/collection-copy.sh" "${HAVIP_SANITY_COPY:-sanity}")
cd "$dest"
exec ansible-test sanity --color no --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
