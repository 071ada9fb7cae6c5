#!/usr/bin/env bash
# Builds the tools of the local test control plane into bin/ from the tool modules beside this script,
# and copies the data files the e2e harness reads at run time out of the module cache:
#
#   bin/etcd                     go.etcd.io/etcd/server/v3        (hack/tools/etcd)
#   bin/kube-apiserver           k8s.io/kubernetes/cmd/...        (hack/tools/kube)
#   bin/kube-controller-manager
#   bin/kube-scheduler
#   bin/kubectl                  only when no kubectl is on PATH  (hack/tools/kube)
#   bin/kwok                     sigs.k8s.io/kwok/cmd/kwok        (hack/tools/kwok)
#   bin/controller-gen           sigs.k8s.io/controller-tools     (hack/tools/gen)
#   bin/golangci-lint            only when asked for: lint        (hack/tools/lint)
#   bin/kwok-stages/*.yaml       kwok's node/fast, pod/fast and node/heartbeat-with-lease stages
#   bin/gateway-api-crds/*.yaml  config/crd/standard of the gateway-api version the main go.mod requires
#
# A binary is rebuilt only when it is missing or its own build info (go version -m) names another module
# version than the tool module pins. The data directories are recorded in bin/.versions and recopied when
# the pinned version changes. So a second run costs about a second.
#
# Usage: hack/tools/build.sh [TARGET...]
#   e2e (default)   everything the e2e tests and code generation need
#   controller-gen  only bin/controller-gen
#   lint            only bin/golangci-lint
#   kubectl         bin/kubectl, even when the machine has one
#   all             e2e and lint
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$root/hack/tools"
bin="$root/bin"
stamp="$bin/.versions"
mkdir -p "$bin"
touch "$stamp"

log() { printf 'e2e-tools: %s\n' "$*" >&2; }

# modversion DIR MODULE: the version of MODULE that the go.mod in DIR selects.
modversion() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

# moddir DIR MODULE: where MODULE (as DIR's go.mod selects it) sits in the module cache.
moddir() {
  (cd "$1" && go mod download "$2" && go list -m -f '{{.Dir}}' "$2")
}

# current BINARY MODULE_VERSION [MARKER]: true when BINARY exists, was built from MODULE_VERSION and its
# build settings contain MARKER (used for the version stamped into the kube binaries).
current() {
  local binary=$1 want=$2 marker=${3:-}
  [ -x "$binary" ] || return 1
  local info
  info=$(go version -m "$binary" 2>/dev/null) || return 1
  [ "$(awk '$1 == "mod" { print $3; exit }' <<<"$info")" = "$want" ] || return 1
  [ -z "$marker" ] || grep -qF -- "$marker" <<<"$info" || return 1
}

# timed NAME DIR COMMAND...: runs COMMAND in DIR and reports how long it took.
timed() {
  local name=$1 dir=$2 start end
  shift 2
  start=$(date +%s)
  (cd "$dir" && "$@")
  end=$(date +%s)
  log "built $name in $((end - start))s"
}

build_etcd() {
  local v
  v=$(modversion "$tools/etcd" go.etcd.io/etcd/server/v3)
  if current "$bin/etcd" "$v"; then return; fi
  log "building etcd $v"
  timed etcd "$tools/etcd" go build -o "$bin/etcd" go.etcd.io/etcd/server/v3
}

# The kube binaries carry their release in component-base's version variables, so that `kubectl version`
# and discovery report v1.37.x rather than v0.0.0-master.
kube_ldflags() {
  local v=$1 minor
  minor=$(cut -d. -f2 <<<"${v#v}")
  local x=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf -- '-s -w%s' "$x"
}

build_kube() {
  local with_kubectl=$1 v
  v=$(modversion "$tools/kube" k8s.io/kubernetes)
  local marker="gitVersion=$v" pkgs=() names=()
  local wanted=(kube-apiserver kube-controller-manager kube-scheduler)
  if [ "$with_kubectl" = yes ]; then wanted+=(kubectl); fi
  for name in "${wanted[@]}"; do
    if ! current "$bin/$name" "$v" "$marker"; then
      pkgs+=("k8s.io/kubernetes/cmd/$name")
      names+=("$name")
    fi
  done
  if [ ${#pkgs[@]} -eq 0 ]; then return; fi
  log "building ${names[*]} $v"
  # One go build for all of them: they share most packages.
  timed "${names[*]}" "$tools/kube" go build -ldflags="$(kube_ldflags "$v")" -o "$bin/" "${pkgs[@]}"
}

build_kwok() {
  local v
  v=$(modversion "$tools/kwok" sigs.k8s.io/kwok)
  if ! current "$bin/kwok" "$v"; then
    log "building kwok $v"
    timed kwok "$tools/kwok" go build -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok
  fi
  copy_data kwok-stages "sigs.k8s.io/kwok@$v" "$tools/kwok" sigs.k8s.io/kwok \
    kustomize/stage/node/fast kustomize/stage/pod/fast kustomize/stage/node/heartbeat-with-lease
}

build_controller_gen() {
  local v
  v=$(modversion "$tools/gen" sigs.k8s.io/controller-tools)
  if current "$bin/controller-gen" "$v"; then return; fi
  log "building controller-gen $v"
  timed controller-gen "$tools/gen" go build -o "$bin/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen
}

build_golangci_lint() {
  local v
  v=$(modversion "$tools/lint" github.com/golangci/golangci-lint/v2)
  if current "$bin/golangci-lint" "$v"; then return; fi
  log "building golangci-lint $v"
  timed golangci-lint "$tools/lint" go build -o "$bin/golangci-lint" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
}

gateway_crds() {
  local v
  v=$(modversion "$root" sigs.k8s.io/gateway-api)
  copy_data gateway-api-crds "sigs.k8s.io/gateway-api@$v" "$root" sigs.k8s.io/gateway-api config/crd/standard
}

# copy_data NAME WANT MODDIR MODULE SUBDIR...: copies the YAML files (not kustomization.yaml, not testdata)
# of each SUBDIR of MODULE into bin/NAME, unless bin/.versions already records NAME at WANT.
copy_data() {
  local name=$1 want=$2 dir=$3 module=$4
  shift 4
  if [ -d "$bin/$name" ] && grep -qxF "$name $want" "$stamp"; then return; fi
  local src
  src=$(moddir "$dir" "$module")
  rm -rf "$bin/$name"
  mkdir -p "$bin/$name"
  for sub in "$@"; do
    find "$src/$sub" -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -exec cp {} "$bin/$name/" \;
  done
  chmod -R u+w "$bin/$name"
  local tmp
  tmp=$(mktemp)
  grep -v "^$name " "$stamp" >"$tmp" || true
  echo "$name $want" >>"$tmp"
  sort "$tmp" >"$stamp"
  rm -f "$tmp"
  log "copied $name from $want ($(ls "$bin/$name" | wc -l) files)"
}

with_kubectl=no
if ! command -v kubectl >/dev/null 2>&1 || [ -x "$bin/kubectl" ]; then
  # No kubectl on the machine (or one was built before and is kept current): build a matching one.
  with_kubectl=yes
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(e2e); fi
for target in "${targets[@]}"; do
  case "$target" in
  e2e)
    build_etcd
    build_kube "$with_kubectl"
    build_kwok
    build_controller_gen
    gateway_crds
    ;;
  controller-gen) build_controller_gen ;;
  kubectl) build_kube yes ;;
  lint) build_golangci_lint ;;
  all)
    build_etcd
    build_kube "$with_kubectl"
    build_kwok
    build_controller_gen
    gateway_crds
    build_golangci_lint
    ;;
  *)
    echo "build.sh: unknown target $target (want e2e, controller-gen, kubectl, lint or all)" >&2
    exit 2
    ;;
  esac
done
