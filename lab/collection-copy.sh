#!/usr/bin/env bash
# Copies the collection to build/NAME/ansible_collections/havip/tencentcloud and prints that path.
#   dest=$(lab/collection-copy.sh NAME)
# ansible-test needs the collection's real path to end in ansible_collections/havip/tencentcloud (it
# resolves symlinks, so build/collections' symlink will not do) and lists files with git: the copy
# holds the files git knows (tracked, or untracked and not ignored) and gets its own index (the
# outer checkout ignores build/). Each caller uses its own NAME, so copies can be made in parallel.
set -euo pipefail
name=${1:?usage: lab/collection-copy.sh NAME}
top=$(cd "$(dirname "$0")/.." && pwd)
dest="$top/build/$name/ansible_collections/havip/tencentcloud"
rm -rf "$dest"
mkdir -p "$dest"
cd "$top"
# Files deleted in the working tree but still in the index are skipped.
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done \
    | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
git init -q . && git add -A
echo "$dest"
