#!/usr/bin/env python3
"""Load generator for bench/surge.sh: a mixed workload over the three admission lanes.

closed MODE: `workers` clients each send one request after another for `seconds` (the capacity
run). open MODE: requests leave at a fixed `rate` per second whatever the server does (the
overload run; an open loop, so a slow server does not slow the load down). One TCP connection
per request. Prints one JSON line per lane with counts by kind and latencies of admitted
requests, and the offered and achieved rates.

Mix (per 10 requests): 4 officer lookups (GET /api/v1/persons/{id} with a token), 3 sign-ins
(POST /api/v1/app/signin, each an Argon2 check), 3 registration pages (GET /me/register, HTML).
"""
import asyncio, json, random, sys, time

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)
mode, token, ids_file = sys.argv[2], sys.argv[3], sys.argv[4]
seconds = float(sys.argv[5])
arg = float(sys.argv[6])  # workers (closed) or rate (open)
ids = [l.strip() for l in open(ids_file) if l.strip()]
rng = random.Random(16)

def request(i):
    k = i % 10
    pid = ids[rng.randrange(len(ids))]
    if k < 4:
        return "officer", (f"GET /api/v1/persons/{pid} HTTP/1.1\r\nHost: b\r\n"
                           f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n").encode()
    if k < 7:
        body = json.dumps({"personal_id": pid, "password": "Sai-mat-khau-1", "device_id": "bench-device-%d" % (i % 500)})
        return "citizen", (f"POST /api/v1/app/signin HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode()
    return "register", (b"GET /me/register HTTP/1.1\r\nHost: b\r\nAccept: text/html\r\nConnection: close\r\n\r\n")

stats = {}
recovery_ms = None
def record(lane, kind, ms):
    s = stats.setdefault(lane, {"kinds": {}, "admitted_ms": []})
    s["kinds"][kind] = s["kinds"].get(kind, 0) + 1
    if kind in ("2xx", "4xx"):
        s["admitted_ms"].append(ms)

async def one(i):
    lane, raw = request(i)
    t = time.monotonic()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        w.write(raw)
        await w.drain()
        data = await asyncio.wait_for(r.read(), 30)
        w.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        ms = (time.monotonic() - t) * 1000
        if status == 503:
            kind = "503_retry_after" if b"\r\nretry-after:" in data.lower() else "503_bare"
        elif 200 <= status < 300: kind = "2xx"
        elif 400 <= status < 500: kind = "4xx" if status != 408 else "408_timeout"
        elif status >= 500: kind = "5xx"
        else: kind = "bad_answer"
        record(lane, kind, ms)
    except asyncio.TimeoutError:
        record(lane, "client_timeout", 0)
    except OSError as e:
        record(lane, "connect_error", 0)

async def closed():
    end = time.monotonic() + seconds
    counter = iter(range(10**9))
    async def worker():
        while time.monotonic() < end:
            await one(next(counter))
    await asyncio.gather(*(worker() for _ in range(int(arg))))

async def open_loop():
    start = time.monotonic()
    tasks = set()
    i = 0
    while True:
        due = start + i / arg
        now = time.monotonic()
        if due - start >= seconds:
            break
        if due > now:
            await asyncio.sleep(due - now)
        if len(tasks) >= 3000:
            record(request(i)[0], "generator_full", 0)
        else:
            t = asyncio.ensure_future(one(i))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        i += 1
    sent_for = time.monotonic() - start
    # Recovery: from the moment the load stops, probe each lane until all three are admitted.
    stopped = time.monotonic()
    global recovery_ms
    pending = {0: "officer", 4: "citizen", 7: "register"}
    while pending and time.monotonic() - stopped < 60:
        for k in list(pending):
            lane, raw = request(k)
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                w.write(raw); await w.drain()
                data = await asyncio.wait_for(r.read(), 30); w.close()
                if data.startswith(b"HTTP/") and int(data.split(b" ", 2)[1]) != 503:
                    del pending[k]
            except (OSError, asyncio.TimeoutError):
                pass
        if pending:
            await asyncio.sleep(0.02)
    recovery_ms = round((time.monotonic() - stopped) * 1000, 1) if not pending else None
    if tasks:
        await asyncio.wait(tasks)
    return i, sent_for

t0 = time.monotonic()
if mode == "closed":
    asyncio.run(closed())
    sent, sent_for = sum(sum(s["kinds"].values()) for s in stats.values()), seconds
else:
    sent, sent_for = asyncio.run(open_loop())
elapsed = time.monotonic() - t0

def pct(xs, p):
    if not xs: return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]

admitted = sum(len(s["admitted_ms"]) for s in stats.values())
print(json.dumps({"mode": mode, "sent": sent, "offered_per_s": round(sent / sent_for, 1),
                  "admitted_per_s": round(admitted / elapsed, 1), "elapsed_s": round(elapsed, 2),
                  "recovery_ms": recovery_ms}))
for lane in ("officer", "citizen", "register"):
    s = stats.get(lane, {"kinds": {}, "admitted_ms": []})
    print(json.dumps({"lane": lane, "kinds": s["kinds"], "admitted": len(s["admitted_ms"]),
                      "p50_ms": round(pct(s["admitted_ms"], 0.5), 1),
                      "p99_ms": round(pct(s["admitted_ms"], 0.99), 1)}))
