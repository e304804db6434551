#!/usr/bin/env bash
# The layering check of issue 17 ("the core knows no job"): counts the #include lines in
# the core folders that name a job's or the config's headers, and fails when there are
# more than recorded below. Each move of a job behind the module interface
# (pipeline/module.hpp) lowers MAX; the goal is 0. Forwarding (src/forward: MAC table,
# routes, neighbours) is the base the core is built on: the core may include it, and it is
# counted as core, so that a job's header reached through it counts too.
#   usage: check-layers.sh [--list] [--self-test] [ROOT]   (ROOT: the tree; default: this one)
# --list prints every counted line; --self-test copies the core into a temporary tree,
# adds one forbidden include and checks that the count then fails (the check can fail).
set -u
MAX=0  # counted includes allowed today; lower it with every move, never raise it

CORE=(src/pipeline src/flow src/packet src/dpdk src/common src/forward)
# The jobs, the config, and what sits above the core (the control plane, ivctl, the
# daemon, the module registry): the core includes none of them.
JOBS='policy\|qos\|mirror\|channel\|config\|portsec\|flowexport\|ethertypes\|control\|cli\|daemon\|modules'

count() {  # ROOT -> the counted lines, one per include ("..." or <...>)
  (cd "$1" && grep -rn "#include *[\"<]\($JOBS\)/" "${CORE[@]}")
}

LIST=0; SELF=0; ROOT=$(cd "$(dirname "$0")/.." && pwd)
for a in "$@"; do
  case $a in
    --list) LIST=1 ;;
    --self-test) SELF=1 ;;
    -*) sed -n '2,/^set -u$/{/^set -u$/!p}' "$0"; exit 2 ;;
    *) ROOT=$a ;;
  esac
done

if [ $SELF = 1 ]; then
  tmp=$(mktemp -d /tmp/ivs-layers.XXXXXX); trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src"
  for d in "${CORE[@]}"; do cp -r "$ROOT/$d" "$tmp/src/"; done
  "$0" "$tmp" >/dev/null || { echo "check-layers: self-test: the copy of the tree already fails"; exit 1; }
  echo '#include "mirror/broker.hpp"' >> "$tmp/src/packet/parse.hpp"
  if "$0" "$tmp" >/dev/null; then echo "check-layers: self-test: a forbidden include was not caught"; exit 1; fi
  echo "check-layers: self-test: a forbidden include is caught"
  exit 0
fi

lines=$(count "$ROOT")
n=$(printf '%s' "$lines" | grep -c .)
[ $LIST = 1 ] && printf '%s\n' "$lines"
by_job=$(printf '%s\n' "$lines" | sed -n "s/.*#include \"\($JOBS\)\/.*/\1/p" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
if [ "$n" -gt "$MAX" ]; then
  echo "check-layers: FAIL: $n includes of job or config headers in the core folders, at most $MAX allowed (${by_job%, })"
  echo "  the core (${CORE[*]}) may not include a job's headers: put the code in the job's folder behind"
  echo "  pipeline/module.hpp. The counted lines:"
  printf '%s\n' "$lines" | sed 's/^/    /'
  exit 1
fi
echo "check-layers: ok: $n includes of job or config headers in the core folders (${by_job%, }), at most $MAX"
[ "$n" -lt "$MAX" ] && echo "check-layers: the count fell below $MAX: lower MAX in $0"
exit 0
