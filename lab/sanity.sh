#!/usr/bin/env bash
# ansible-test sanity needs the collection's real path to end in ansible_collections/havip/tencentcloud
# (it resolves symlinks), so it runs on a fresh copy of the files git knows (tracked, or untracked
# and not ignored) under build/sanity/, on the controller's Python.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dest="$top/build/sanity/ansible_collections/havip/tencentcloud"
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
rm -rf "$dest"
mkdir -p "$dest"
cd "$top"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
# ansible-test lists files with git: give the copy its own index (the outer checkout ignores build/).
git init -q . && git add -A
exec ansible-test sanity --color no --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
