#!/usr/bin/env bash
# The devnet's first start, timed (docs/benchmarks.md, "Devnet first
# start"): bin/modex devnet with a cold key cache and a fresh data directory
# in a temporary directory, on other ports than make run's; prints when the
# API answers, when a deposit is applied, when the first batch is verified
# on L1 (a real Groth16 proof through the bridge) and when every family is
# ready, then stops the devnet with Ctrl-C (SIGINT) and times the stop.
#
#   make build && scripts/devnet-first-start.sh
#   KEYS=DIR scripts/devnet-first-start.sh   # with a key cache DIR that persists:
#                                            # run twice for the later start
set -uo pipefail
cd "$(dirname "$0")/.."
M=${M:-./bin/modex}
W=$(mktemp -d)
L1=127.0.0.1:${L1PORT:-18545}
API=127.0.0.1:${APIPORT:-18645}
t0=$(date +%s.%N)
el() { printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)"; }
KEYS=${KEYS:-$W/keys}
$M devnet --keys "$KEYS" --datadir "$W/data" --l1.addr "$L1" --rpc.addr "$API" >"$W/out.log" 2>"$W/err.log" &
PID=$!
echo "devnet pid $PID, logs in $W"
health='{"jsonrpc":"2.0","id":1,"method":"node_health","params":[]}'
until curl -s -o /dev/null -X POST -H 'content-type: application/json' --data "$health" "http://$API"; do
  kill -0 $PID 2>/dev/null || { echo "the devnet exited"; tail "$W/err.log"; exit 1; }
  sleep 0.2
done
echo "API answers: $(el) s"
$M wallet import --dev 1 --out "$W/alice.json" >/dev/null
if $M deposit --key "$W/alice.json" --amount 1eth --rpc "http://$API" --l1-rpc "http://$L1" >"$W/deposit.log" 2>&1; then
  echo "deposit applied: $(el) s"
else
  echo "deposit failed:"; cat "$W/deposit.log"
fi
until $M status --rpc "http://$API" 2>/dev/null | grep -qE 'verified [1-9]'; do sleep 1; done
echo "first batch verified on L1: $(el) s"
until grep -q "every family proven-ready" "$W/err.log"; do
  kill -0 $PID 2>/dev/null || { echo "the devnet exited"; tail "$W/err.log"; exit 1; }
  sleep 1
done
echo "every family ready: $(el) s"
grep "proven-ready" "$W/err.log" | sed 's/.*msg="\([^"]*\)".*/  \1/'
kill -INT $PID
t1=$(date +%s.%N)
wait $PID
printf 'stopped in %.1f s\n' "$(echo "$(date +%s.%N) - $t1" | bc)"
rm -rf "$W/keys" "$W/data"
