#!/usr/bin/env bash
# Sets up this machine to run Kubernetes pods with runsc-net through containerd's CRI, without any
# outside registry: a `runsc-net` runtime handler (runc v2 shim, BinaryName = runsc-net), Debian's
# docker-registry on localhost:5000 as the CRI's registry, locally built images (the pause image
# and the ones critest asks for), a CNI bridge network, and optionally crictl/critest built from a
# cri-tools source tree. Safe to run again: every step replaces what the previous run wrote.
#
# usage: scripts/k8s-setup.sh [--cri-tools SRC] [--no-images]
#   --cri-tools SRC  build crictl and critest from the cri-tools source tree SRC (tag v1.26.0; it
#                    vendors its dependencies, so Debian's Go builds it offline) into SRC/bin
#   --no-images      skip building and pushing the images
#   env RUNSC_NET    the runsc-net binary containerd's shim calls (default: runsc-net on PATH)
#
# What it writes:
#   /etc/containerd/conf.d/runsc-net.toml   the CRI plugin's section (imported by config.toml)
#   /etc/docker/registry/runsc-net.yml      the registry's config: the package's sample, no auth
#   /etc/cni/net.d/10-runsc-net.conflist    bridge "runsc-net0", 10.89.0.0/16, portmap
# Processes it starts when systemd is not running: docker-registry and containerd, in their own
# sessions, logging to /var/log/runsc-net-{registry,containerd}.log. Stop them by the pids in
# /run/runsc-net-k8s/*.pid.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
registry="localhost:5000"
pause_image="$registry/pause:3.9"
cri_tools=""
images=1
while [ $# -gt 0 ]; do
    case "$1" in
        --cri-tools) cri_tools="${2:?--cri-tools needs a directory}"; shift 2 ;;
        --no-images) images=0; shift ;;
        *) echo "k8s-setup.sh: unknown argument $1 (usage: $0 [--cri-tools SRC] [--no-images])" >&2; exit 2 ;;
    esac
done

[ "$(id -u)" = 0 ] || { echo "k8s-setup.sh: run as root (it configures containerd and CNI)" >&2; exit 1; }
runsc="$(command -v "${RUNSC_NET:-runsc-net}" || true)"
[ -n "$runsc" ] && [ -x "$runsc" ] || {
    echo "k8s-setup.sh: runsc-net not found (install it with scripts/install.sh or set RUNSC_NET)" >&2; exit 1; }
runsc="$(readlink -f "$runsc")"
piddir=/run/runsc-net-k8s
mkdir -p "$piddir"

have_systemd() { [ -d /run/systemd/system ] && systemctl is-system-running >/dev/null 2>&1; }

# Starts "$@" in its own session unless NAME's pid file names a live process.
start_daemon() {
    local name="$1"; shift
    local pidfile="$piddir/$name.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        return 0
    fi
    setsid "$@" </dev/null >"/var/log/runsc-net-$name.log" 2>&1 &
    echo $! >"$pidfile"
}

# Ends the process NAME's pid file names (one this script started) and waits for it.
stop_daemon() {
    local pidfile="$piddir/$1.pid"
    [ -f "$pidfile" ] || return 0
    local pid; pid="$(cat "$pidfile")"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

wait_for() {
    local what="$1"; shift
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "k8s-setup.sh: $what did not come up" >&2
    return 1
}

echo "== packages (apt, the machine's configured mirrors)"
missing=()
for pkg in containerd docker-registry containernetworking-plugins busybox-static podman jq; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== registry on $registry"
sample=/etc/docker/registry/config.yml
regconf=/etc/docker/registry/runsc-net.yml
# The sample config asks for htpasswd auth; the CRI and podman push here without credentials.
awk '/^auth:/ { skip = 1; next } skip && /^[^ ]/ { skip = 0 } !skip' "$sample" >"$regconf"
if have_systemd; then
    mkdir -p /etc/systemd/system/docker-registry.service.d
    cat >/etc/systemd/system/docker-registry.service.d/runsc-net.conf <<EOF
[Service]
ExecStart=
ExecStart=/usr/bin/docker-registry serve $regconf
EOF
    systemctl daemon-reload
    systemctl restart docker-registry
else
    stop_daemon registry
    start_daemon registry runuser -u docker-registry -- /usr/bin/docker-registry serve "$regconf"
fi
wait_for "the registry on $registry" curl -fsS "http://$registry/v2/"

echo "== CNI: /etc/cni/net.d/10-runsc-net.conflist"
mkdir -p /etc/cni/net.d
cat >/etc/cni/net.d/10-runsc-net.conflist <<'EOF'
{
  "cniVersion": "0.4.0",
  "name": "runsc-net",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "runsc-net0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "routes": [{ "dst": "0.0.0.0/0" }],
        "ranges": [[{ "subnet": "10.89.0.0/16" }]]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

echo "== containerd: runtime handler runsc-net -> $runsc"
mkdir -p /etc/containerd/conf.d
config=/etc/containerd/config.toml
[ -f "$config" ] || printf 'version = 2\n' >"$config"
# The CRI plugin must not be disabled, and config.toml must import the fragments.
sed -i -E 's/^(disabled_plugins *= *\[)(.*)"cri",? *(.*)\]/\1\2\3]/' "$config"
if ! grep -q '^imports' "$config"; then
    sed -i '1a imports = ["/etc/containerd/conf.d/*.toml"]' "$config"
fi
# Without CAP_SYS_RESOURCE (a machine that is itself a container) no runtime can lower a
# process's oom_score_adj below its parent's: the CRI asks -998 for pause containers, and both
# runc and runsc-net fail create when the write is refused. restrict_oom_score_adj makes the
# CRI clamp it to containerd's own value.
restrict_oom=false
capeff="$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
(( (16#$capeff >> 24) & 1 )) || restrict_oom=true
# containerd 1.6 replaces a plugin's whole section with an imported file's, so this fragment is
# the complete CRI configuration.
cat >/etc/containerd/conf.d/runsc-net.toml <<EOF
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  restrict_oom_score_adj = $restrict_oom
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-net]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc-net.options]
        BinaryName = "$runsc"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
EOF
if have_systemd; then
    systemctl restart containerd
else
    if ! [ -f "$piddir/containerd.pid" ] && timeout 5 ctr version >/dev/null 2>&1; then
        echo "k8s-setup.sh: a containerd this script did not start is running; restart it to load the new config" >&2
    else
        stop_daemon containerd
        start_daemon containerd containerd
    fi
fi
wait_for containerd timeout 5 ctr version

if [ "$images" = 1 ]; then
    echo "== images (busybox-static rootfs, imported with podman, pushed to $registry)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    "$repo/scripts/build-busybox-rootfs.sh" "$work/base" >/dev/null
    # Applets as hard links, as in Docker's busybox image: masking one (critest masks /bin/ls)
    # must not mask /bin/busybox behind a symlink.
    find "$work/base" -type l -lname /bin/busybox -exec ln -f "$work/base/bin/busybox" {} \;

    # image NAME [podman import --change ...]: the rootfs in $work/NAME (a copy of base plus what
    # the caller added) as NAME, pushed.
    image() {
        local name="$1"; shift
        local args=()
        for change in "$@"; do args+=(--change "$change"); done
        tar -C "$work/${name//[\/:]/_}" -c . | podman import -q "${args[@]}" - "$registry/$name" >/dev/null
        podman push -q --tls-verify=false "$registry/$name"
        echo "   $registry/$name"
    }
    rootfs() { rm -rf "$work/${1//[\/:]/_}"; cp -a "$work/base" "$work/${1//[\/:]/_}"; echo "$work/${1//[\/:]/_}"; }

    # Waits forever without children; not named "sleep" (critest greps a pod's processes for it).
    rootfs pause:3.9 >/dev/null
    image pause:3.9 'ENTRYPOINT ["/usr/bin/tail", "-f", "/dev/null"]'

    dir="$(rootfs busybox:1.28)"
    # Docker's busybox has a pgrep applet (critest's exec-timeout spec runs `pgrep sleep`);
    # Debian's static build does not: a script with its basic form (pgrep PATTERN).
    cat >"$dir/bin/pgrep" <<'PGREP'
#!/bin/sh
found=1
for p in /proc/[0-9]*; do
    read -r comm <"$p/comm" 2>/dev/null || continue
    case "$comm" in *$1*) echo "${p#/proc/}"; found=0 ;; esac
done
exit $found
PGREP
    chmod 0755 "$dir/bin/pgrep"
    # Nor has it ipcs (critest's HostIpc specs list shared memory with `ipcs -m`): a static one
    # of our own (scripts/images/ipcs.c), which finds the objects with shmctl/msgctl/semctl.
    if command -v cc >/dev/null; then
        cc -static -O2 -o "$dir/bin/ipcs" "$repo/scripts/images/ipcs.c"
    else
        echo "   no C compiler: busybox:1.28 has no ipcs (critest's HostIpc specs will fail)" >&2
    fi
    image busybox:1.28 'CMD ["sh"]'

    # critest's web servers: busybox httpd serving an index page ("nginx" on 80, "hostnet-nginx"
    # on 12003 in the host's network, "httpd" on 80 printing the line critest looks for).
    for name in nginx:latest httpd:latest k8s-staging-cri-tools/hostnet-nginx-amd64:latest; do
        dir="$(rootfs "$name")"
        mkdir -p "$dir/www"
        echo '<html><body>runsc-net</body></html>' >"$dir/www/index.html"
    done
    # sh stays the init (a command follows httpd), so /proc/1/cmdline reads like nginx's
    # "master process" title, which critest's PID namespace specs look for.
    image nginx:latest 'CMD ["sh", "-c", "httpd -f -v -p 80 -h /www; : nginx: master process"]'
    podman tag "$registry/nginx:latest" "$registry/nginx:1.18"   # the Security Context specs' tag
    podman push -q --tls-verify=false "$registry/nginx:1.18"
    image httpd:latest 'CMD ["sh", "-c", "echo \"Command line: httpd -D FOREGROUND\"; exec httpd -f -v -p 80 -h /www"]'
    image k8s-staging-cri-tools/hostnet-nginx-amd64:latest 'CMD ["httpd", "-f", "-v", "-p", "12003", "-h", "/www"]'

    # A user of uid 1000 who belongs to group 50000 in the image, as critest's predefined-group image.
    dir="$(rootfs k8s-staging-cri-tools/test-image-predefined-group:latest)"
    echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >>"$dir/etc/passwd"
    printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$dir/etc/group"
    mkdir -p "$dir/home/default-user"
    image k8s-staging-cri-tools/test-image-predefined-group:latest 'USER 1000'

    # critest's NoNewPrivs specs: a set-user-ID-root program printing its effective uid, run as
    # uid 1000 (e2e-test-images/nonewprivs does the same).
    if command -v cc >/dev/null; then
        dir="$(rootfs e2e-test-images/nonewprivs:1.3)"
        printf '%s\n' '#include <stdio.h>' '#include <unistd.h>' \
            'int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }' >"$work/nnp.c"
        mkdir -p "$dir/usr/local/bin"
        cc -static -O2 -o "$dir/usr/local/bin/nnp" "$work/nnp.c"
        chmod 4755 "$dir/usr/local/bin/nnp"
        image e2e-test-images/nonewprivs:1.3 'ENTRYPOINT ["/usr/local/bin/nnp"]'
    else
        echo "   no C compiler: e2e-test-images/nonewprivs:1.3 not built (critest's NoNewPrivs specs will fail)" >&2
    fi

    echo "== pulling into containerd's k8s.io namespace"
    staging=k8s-staging-cri-tools
    for name in pause:3.9 busybox:1.28 nginx:latest nginx:1.18 httpd:latest $staging/hostnet-nginx-amd64:latest \
            $staging/test-image-predefined-group:latest; do
        ctr -n k8s.io images pull --plain-http "$registry/$name" >/dev/null
    done
    # critest pulls these through the registry prefix but creates some containers by the name it
    # was given: short names resolve to docker.io/library, its own images live on gcr.io.
    for name in busybox:1.28 nginx:latest nginx:1.18 httpd:latest; do
        ctr -n k8s.io images tag --force "$registry/$name" "docker.io/library/$name" >/dev/null
    done
    for name in $staging/hostnet-nginx-amd64:latest $staging/test-image-predefined-group:latest; do
        ctr -n k8s.io images tag --force "$registry/$name" "gcr.io/$name" >/dev/null
    done
    if ctr -n k8s.io images pull --plain-http "$registry/e2e-test-images/nonewprivs:1.3" >/dev/null 2>&1; then
        ctr -n k8s.io images tag --force "$registry/e2e-test-images/nonewprivs:1.3" k8s.gcr.io/e2e-test-images/nonewprivs:1.3 >/dev/null
    fi
fi

if [ -n "$cri_tools" ]; then
    echo "== crictl and critest from $cri_tools"
    (cd "$cri_tools" && export GOFLAGS=-mod=vendor GOPROXY=off &&
        go build -o bin/crictl ./cmd/crictl && go test -c -o bin/critest ./cmd/critest)
    echo "   $cri_tools/bin/crictl, $cri_tools/bin/critest"
fi

cat <<EOF
== ready
  crictl --runtime-endpoint unix:///run/containerd/containerd.sock runp --runtime runsc-net POD.json
  critest -runtime-endpoint unix:///run/containerd/containerd.sock -runtime-handler runsc-net \\
          -registry-prefix $registry -ginkgo.focus 'PodSandbox|Container|Networking|Streaming'
  Kubernetes: a RuntimeClass with handler runsc-net (see README.md, "Kubernetes").
EOF
