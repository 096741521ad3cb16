#!/usr/bin/env bash
# Run the storage contract suite against AWS's DynamoDB Local (Java), so the adapters are
# proven on more than dynalite. DynamoDB Local ships inside the npm package
# amplify-dynamodb-simulator; only its tarball is fetched (npm pack: the jar and its native
# libraries, ~60 MB unpacked) into a cache outside node_modules, never the package's 347 MB of
# dependencies, and never as part of `npm install`.
#
#   npm run test:dynamodb-local [-- extra vitest args]
#   TOLLGATE_DYNAMODB_LOCAL_HOME=/path   cache folder (default $HOME/.cache/tollgate/dynamodb-local)
set -euo pipefail
cd "$(dirname "$0")/.."

SIMULATOR_VERSION=2.9.30
cache="${TOLLGATE_DYNAMODB_LOCAL_HOME:-$HOME/.cache/tollgate/dynamodb-local}"
emulator="$cache/amplify-dynamodb-simulator-$SIMULATOR_VERSION/emulator"

if ! command -v java >/dev/null 2>&1; then
  echo "dynamodb-local: Java is required to run DynamoDB Local and was not found on PATH." >&2
  echo "dynamodb-local: install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless) and run again." >&2
  exit 1
fi
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
if [ -z "$java_major" ] || [ "$java_major" -lt 11 ]; then
  echo "dynamodb-local: DynamoDB Local needs Java 11 or later; found: $(java -version 2>&1 | head -1)" >&2
  exit 1
fi

t0=$(date +%s%N)
if [ ! -f "$emulator/DynamoDBLocal.jar" ]; then
  echo "dynamodb-local: fetching amplify-dynamodb-simulator@$SIMULATOR_VERSION into $cache (once)"
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
  tarball="$(npm pack "amplify-dynamodb-simulator@$SIMULATOR_VERSION" --pack-destination "$tmp" --silent 2>/dev/null | tail -1)"
  tar -xzf "$tmp/$tarball" -C "$tmp"
  [ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || { echo "dynamodb-local: the package has no emulator/DynamoDBLocal.jar" >&2; rm -rf "$tmp"; exit 1; }
  rm -rf "$cache/amplify-dynamodb-simulator-$SIMULATOR_VERSION"
  mv "$tmp/package" "$cache/amplify-dynamodb-simulator-$SIMULATOR_VERSION"
  rm -rf "$tmp"
fi
t1=$(date +%s%N)

# A free loopback port, chosen by the OS.
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
log="$cache/dynamodb-local.$port.log"

java_pid=""
cleanup() {
  if [ -n "$java_pid" ] && kill -0 "$java_pid" 2>/dev/null; then
    kill "$java_pid" 2>/dev/null || true
    wait "$java_pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$emulator" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -sharedDb -port "$port" -disableTelemetry) >"$log" 2>&1 &
java_pid=$!

endpoint="http://127.0.0.1:$port"
# Ready when it answers a real API call; poll with a deadline, never a fixed sleep.
if ! ENDPOINT="$endpoint" JAVA_PID="$java_pid" node --input-type=module -e '
  const deadline = Date.now() + 30_000;
  const alive = () => { try { process.kill(Number(process.env.JAVA_PID), 0); return true; } catch { return false; } };
  for (;;) {
    try {
      const res = await fetch(process.env.ENDPOINT, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.ListTables",
                   authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0" },
        body: "{}",
      });
      if (res.status === 200) process.exit(0);
    } catch {}
    if (!alive()) { console.error("dynamodb-local: java exited before it was ready"); process.exit(1); }
    if (Date.now() > deadline) { console.error("dynamodb-local: not ready within 30 s"); process.exit(1); }
    await new Promise((r) => setTimeout(r, 100));
  }'; then
  cat "$log" >&2
  exit 1
fi
t2=$(date +%s%N)
echo "dynamodb-local: ready at $endpoint (fetch $(( (t1 - t0) / 1000000 )) ms, start $(( (t2 - t1) / 1000000 )) ms)"

DYNAMODB_LOCAL_ENDPOINT="$endpoint" npx vitest run test/integration/storage-contract.test.ts "$@"
