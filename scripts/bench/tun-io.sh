#!/usr/bin/env bash
# Runs scripts/bench/tun-io.ts inside a private network namespace (root needed) and removes the
# namespace afterwards, also on failure. Usage: scripts/bench/tun-io.sh  [TUN_BENCH_SECONDS=2]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bun="$root/node_modules/.bin/bun"
ns="warren-tun-bench-$$"
trap 'ip netns delete "$ns" 2>/dev/null || true' EXIT
ip netns add "$ns"
ip netns exec "$ns" "$bun" "$here/tun-io.ts"
