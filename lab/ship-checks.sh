#!/usr/bin/env bash
# The checks the Ansible ecosystem runs on a collection before it ships (make ship):
#  1. ansible-galaxy collection build into build/galaxy/; the tarball holds no lab, no Docker
#     scenario, no development tooling and no test artefact (nothing git ignores);
#  2. ansible-galaxy collection install of that tarball into a fresh build/galaxy/install, then,
#     with ANSIBLE_COLLECTIONS_PATH pointing only there: ansible-doc of every module, filter and
#     role, and ansible-playbook --syntax-check of havip.tencentcloud.site and .failover_drill;
#  3. galaxy-importer on the tarball (lab/galaxy-importer.cfg: offline, no container), with no
#     error and no warning;
#  4. antsibull-docs lint-collection-docs --plugin-docs;
#  5. ansible-builder create of execution-environment.yml (a build context in build/ee, no image),
#     and ansible-builder introspect of the installed collection (its Python and system needs);
#  6. antsibull-changelog lint, and a release + generate of the pending fragments in a scratch copy.
# Logs: build/ship/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x .venv/bin/ansible-galaxy ] && export PATH="$top/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0

out="$top/build/ship"
galaxy="$top/build/galaxy"
install="$galaxy/install"
rm -rf "$out" "$galaxy"
mkdir -p "$out" "$galaxy"

fail() { echo "ship-checks: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# Runs a command, keeps its output in build/ship/NAME.log, fails on a non-zero exit or on a
# warning or error line in its output.
checked() {
    local name=$1; shift
    local log="$out/$name.log"
    if ! "$@" >"$log" 2>&1; then cat "$log" >&2; fail "$name: exit status"; fi
    if grep -En '^\[(WARNING|ERROR|DEPRECATION WARNING)\]|^(WARNING|ERROR)\b' "$log" >&2; then
        fail "$name: warnings in $log"
    fi
}

version=$(python3 -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball="$galaxy/havip-tencentcloud-$version.tar.gz"

# --- 1. build ------------------------------------------------------------------------------------
step "ansible-galaxy collection build ($tarball)"
checked galaxy-build ansible-galaxy collection build --output-path "$galaxy" .
[ -f "$tarball" ] || fail "no $tarball"
tar -tzf "$tarball" | sed 's,/$,,' | grep -v -x -e MANIFEST.json -e FILES.json | sort > "$out/tarball-files.txt"
forbidden='^(lab|molecule|build|\.venv|\.ansible|\.git|\.ci|\.config|\.cache|tests/output|tests/integration/(integration_config\.yml|cloud-config-[^/]*|inventory[^/]*))(/|$)|(^|/)(__pycache__|\.hypothesis|\.pytest_cache|\.ruff_cache|\.molecule)(/|$)|\.(pyc|log|retry|tar\.gz)$'
if grep -E "$forbidden" "$out/tarball-files.txt"; then fail "the tarball holds lab, tooling or test artefacts (above)"; fi
# Whatever git ignores is an artefact, wherever it is.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    rc=0
    git check-ignore --no-index --stdin < "$out/tarball-files.txt" > "$out/tarball-ignored.txt" || rc=$?
    case $rc in
        0) cat "$out/tarball-ignored.txt" >&2; fail "the tarball holds files that git ignores (above)" ;;
        1) ;;
        *) fail "git check-ignore: exit status $rc" ;;
    esac
fi
for needed in README.md COPYING meta/runtime.yml meta/execution-environment.yml requirements.txt bindep.txt \
              playbooks/site.yml playbooks/drill/files/havip_probe.py extensions/awx/credential_type_tencentcloud.yml roles/keepalived/README.md \
              roles/keepalived/meta/argument_specs.yml changelogs/changelog.yaml; do
    grep -qx "$needed" "$out/tarball-files.txt" || fail "the tarball lacks $needed"
done
echo "   $(wc -l < "$out/tarball-files.txt") entries, $(du -k "$tarball" | cut -f1) KiB"

# --- 2. install and use -------------------------------------------------------------------------
step "ansible-galaxy collection install into $galaxy/install"
ANSIBLE_COLLECTIONS_PATH="$install" checked galaxy-install ansible-galaxy collection install --offline -p "$install" "$tarball"
installed="$install/ansible_collections/havip/tencentcloud"
[ -f "$installed/MANIFEST.json" ] || fail "not installed at $installed"
(
    # Only the installed copy: not the checkout's build/collections link, not the current directory.
    export ANSIBLE_COLLECTIONS_PATH="$install"
    export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true  # ansible.builtin and the ansible package's collections
    cd "$galaxy"
    where=$(ansible-galaxy collection list havip.tencentcloud --format json 2>/dev/null \
            | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))')
    [ "$where" = "$install/ansible_collections" ] || fail "havip.tencentcloud found in: $where"
    checked galaxy-verify ansible-galaxy collection verify --offline -p "$install" havip.tencentcloud
    step "ansible-doc from the installed collection"
    for type in module filter role; do
        names=$(ansible-doc -t "$type" -l havip.tencentcloud --json | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')
        [ -n "$names" ] || fail "ansible-doc lists no $type"
        for name in $names; do
            checked "doc-$type-${name##*.}" ansible-doc -t "$type" "$name"
        done
        echo "   $type: $names"
    done
    for role in keepalived vrrp_agent; do
        grep -Eq '^ENTRY POINT: \*?main\*? - ' "$out/doc-role-$role.log" || fail "ansible-doc -t role $role: no main entry point"
        grep -q "($installed)" "$out/doc-role-$role.log" || fail "ansible-doc -t role $role: not from $installed"
    done
    step "ansible-playbook --syntax-check of the collection's playbooks"
    printf 'cluster:\n  hosts:\n    node1:\n    node2:\n' > inventory.yml
    [ -f "$installed/playbooks/site.yml" ] || fail "no playbooks/site.yml (havip.tencentcloud.site)"
    for file in "$installed"/playbooks/*.yml; do
        playbook="havip.tencentcloud.$(basename "$file" .yml)"
        checked "syntax-${playbook##*.}" ansible-playbook -i inventory.yml --syntax-check "$playbook"
        echo "   $playbook"
    done
    # The shipped tests are sources for users of the installed collection: none may need the lab
    # (left out of the tarball), so all of them must import there.
    step "pytest --collect-only of the installed collection's unit tests"
    (cd "$installed" && checked collect-unit python3 -m pytest --collect-only -q -p no:cacheprovider tests/unit)
    echo "   $(grep -Eo '^[0-9]+ tests collected' "$out/collect-unit.log")"
)

# --- 3. galaxy-importer ---------------------------------------------------------------------------
step "galaxy-importer $(python3 -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))')"
(
    cd "$out"
    export GALAXY_IMPORTER_CONFIG="$top/lab/galaxy-importer.cfg"
    python3 -m galaxy_importer.main "$tarball" > galaxy-importer.log 2>&1 \
        || { cat galaxy-importer.log >&2; fail "galaxy-importer: exit status"; }
)
sed 's/^/   /' "$out/galaxy-importer.log"
grep -q '^Importer processing completed successfully' "$out/galaxy-importer.log" || fail "galaxy-importer did not complete"
if grep -En '^(WARNING|ERROR)' "$out/galaxy-importer.log" >&2; then fail "galaxy-importer reported the lines above"; fi

# --- 4. docs --------------------------------------------------------------------------------------
step "antsibull-docs lint-collection-docs --plugin-docs"
checked antsibull-docs-lint antsibull-docs lint-collection-docs --plugin-docs .

# --- 5. execution environment ---------------------------------------------------------------------
step "ansible-builder create (build/ee) and introspect"
rm -rf build/ee
checked ansible-builder-create ansible-builder create -f execution-environment.yml -c build/ee --output-filename Containerfile
[ -f build/ee/Containerfile ] || fail "ansible-builder wrote no Containerfile"
[ -f "build/ee/_build/collections/$(basename "$tarball")" ] || fail "the EE context lacks $(basename "$tarball")"
grep -q "$(basename "$tarball")" build/ee/_build/requirements.yml || fail "the EE installs another tarball than $(basename "$tarball")"
checked ansible-builder-introspect ansible-builder introspect --sanitize "$install"
for need in tencentcloud-sdk-python-common tencentcloud-sdk-python-vpc openssh-clients; do
    grep -q "$need" "$out/ansible-builder-introspect.log" || fail "ansible-builder introspect does not see $need"
done
if grep -Eiq "^- '?ansible-core" "$out/ansible-builder-introspect.log"; then fail "the EE would reinstall ansible-core"; fi

# --- 6. changelog ---------------------------------------------------------------------------------
step "antsibull-changelog lint, and a release of the pending fragments in a scratch copy"
checked changelog-lint antsibull-changelog lint
checked changelog-lint-yaml antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
released=$(python3 - "$version" <<'PY'
import sys, yaml
releases = yaml.safe_load(open("changelogs/changelog.yaml")).get("releases") or {}
print("yes" if sys.argv[1] in releases else "no")
PY
)
if [ "$released" = no ]; then
    grep -lq '^release_summary:' changelogs/fragments/*.y*ml 2>/dev/null \
        || fail "version $version is not released and no fragment has a release_summary"
fi
scratch="$out/changelog/ansible_collections/havip/tencentcloud"
mkdir -p "$scratch"
cp -a galaxy.yml changelogs plugins roles meta "$scratch/"
(
    cd "$scratch"
    if [ "$released" = no ]; then
        ANSIBLE_COLLECTIONS_PATH="$out/changelog" checked changelog-release antsibull-changelog release --version "$version"
    fi
    ANSIBLE_COLLECTIONS_PATH="$out/changelog" checked changelog-generate antsibull-changelog generate
    grep -q "^v$version" CHANGELOG.rst || fail "the generated changelog has no v$version"
)
echo "ship-checks: all passed (logs in ${out#"$top"/}/)"
