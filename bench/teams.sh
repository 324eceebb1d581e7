#!/usr/bin/env bash
# Teams (issue 19): what membership costs. One server; an Enterprise owner
# invites N people (each invitation mailed to the outbox) who join by opening
# their link. Prints the latency of inviting, of joining (the verify that
# consumes the link and adds the membership), of an authenticated read by a
# member with N members in the team (the role is read with the session), and
# how long after a removal and a role change the member's next request sees it.
# Usage: bench/teams.sh [--members N]   (REELFORGE_BIN=..., BENCH_BUILD=debug)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

members=50
while [ $# -gt 0 ]; do
    case "$1" in
        --members) members="$2"; shift 2 ;;
        *) echo "usage: bench/teams.sh [--members N]" >&2; exit 2 ;;
    esac
done

bin="$(reelforge_bin "${BENCH_BUILD:-release}")"
use_scratch
port="$(free_port)"
base="http://127.0.0.1:$port"
export DATA_DIR="$work" BIND="127.0.0.1:$port" PUBLIC_URL="$base" RUST_LOG=warn WORKER_CONCURRENCY=0 \
       RATE_LIMIT_EMAIL_PER_15M=0 RATE_LIMIT_IP_PER_15M=0
"$bin" serve >"$work/server.log" 2>&1 &
pid=$!
wait_ready "$base" "$pid" "$work/server.log" bench/teams.sh

token="$(sign_in "$base" "$work/outbox" owner@teams.example)"
"$bin" admin set-plan owner@teams.example enterprise >/dev/null
sleep 1.5

python3 - "$base" "$work/outbox" "$token" "$members" <<'PY'
import email, email.policy, glob, json, os, re, sys, time, urllib.request, urllib.error
base, outbox, owner, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def call(method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    return status, (json.loads(raw) if raw else None), (time.perf_counter() - started) * 1000

def link_for(address, seen):
    deadline = time.time() + 30
    while time.time() < deadline:
        for path in sorted(glob.glob(os.path.join(outbox, "*.eml"))):
            if path in seen:
                continue
            msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
            if address not in str(msg["To"]):
                continue
            for part in msg.walk():
                if part.get_content_type() == "text/plain":
                    match = re.search(r"/auth/verify\?token=([A-Za-z0-9_-]+)", part.get_content())
                    if match:
                        seen.add(path)
                        return match.group(1)
        time.sleep(0.05)
    sys.exit(f"no invitation for {address}")

def summary(name, values):
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"{name}: median {values[len(values)//2]:.1f} ms, p99 {p99:.1f} ms, max {values[-1]:.1f} ms (n={len(values)})"

seen, invites, joins, sessions = set(), [], [], []
for i in range(n):
    address = f"member{i}@teams.example"
    status, _, ms = call("POST", "/api/account/members", owner, {"email": address, "role": "member"})
    assert status == 201, status
    invites.append(ms)
    status, body, ms = call("POST", "/api/auth/magic-link/verify", body={"token": link_for(address, seen)})
    assert status == 200 and body["user"]["role"] == "member", (status, body)
    joins.append(ms)
    sessions.append((body["user"]["id"], body["access_token"]))

reads = []
for _ in range(5):
    for _, access in sessions:
        status, _, ms = call("GET", "/api/v1/projects", access)
        assert status == 200, status
        reads.append(ms)

# A role change and a removal, then the member's very next request.
user_id, access = sessions[0]
status, _, _ = call("GET", "/api/account/members", access)
assert status == 403
status, _, _ = call("PATCH", f"/api/account/members/{user_id}", owner, {"role": "admin"})
assert status == 200
started = time.perf_counter()
status, _, _ = call("GET", "/api/account/members", access)
promoted = (time.perf_counter() - started) * 1000
assert status == 200, f"the promotion was not seen at the next request ({status})"
status, _, _ = call("DELETE", f"/api/account/members/{user_id}", owner)
assert status == 204
status, _, _ = call("GET", "/api/v1/projects", access)
assert status == 401, f"a removed member's next request answered {status}"
status, team, _ = call("GET", "/api/account/members", owner)
print(f"teams: {n} members joined by invitation (seats used now {team['seats']['used']})")
print(summary("invite (POST /api/account/members)", invites))
print(summary("join (verify of the invitation link)", joins))
print(summary(f"member's authenticated read with {n} members", reads))
print(f"role change seen at the member's next request ({promoted:.1f} ms); removal: next request 401")
PY
