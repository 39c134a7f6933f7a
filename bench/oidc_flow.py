#!/usr/bin/env python3
"""The citizen's side of bench/oidc-token.sh, against a running eid.

  mint   --count N --out FILE  signs in once on eid's pages (password, consent), then asks for
                               N codes with that browser session (each authorization answers at
                               once with a code); writes them one a line. Not measured.
  signin --count N             N full password sign-ins, one after the other, each in a browser
                               eid knows (its device cookie) but without a session: authorize ->
                               eid's sign-in page -> password -> (consent already given) -> code
                               -> token. Prints the mean seconds a sign-in.
  signin --new-device          the same, each in a new browser (no cookies): after the password,
                               the SMS code sent to the bound phone (read with --code-command,
                               whose own time is not counted: it stands for the citizen reading
                               the SMS) binds the new browser, then code -> token.

Codes carry the challenge of VERIFIER (the token requests of the bench send it).
The page walker is the one of tests/oidc/authlib_client.py.
"""
import argparse
import base64
import hashlib
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlparse, parse_qs

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "oidc"))
from authlib_client import walk  # noqa: E402

VERIFIER = "bench-verifier-0123456789-0123456789-0123456789-abcdef"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorize_url(meta, a):
    return meta["authorization_endpoint"] + "?" + urlencode({
        "response_type": "code", "client_id": a.client_id, "redirect_uri": a.redirect_uri,
        "scope": a.scope, "state": secrets.token_urlsafe(12), "nonce": secrets.token_urlsafe(12),
        "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    })


def code_of(url):
    q = parse_qs(urlparse(url).query)
    if "code" not in q:
        raise SystemExit(f"no code in the authorization response: {sorted(q)}")
    return q["code"][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["mint", "signin"])
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--scope", default="openid profile offline_access")
    ap.add_argument("--field", action="append", default=[])
    ap.add_argument("--code-command", default=None)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--out")
    ap.add_argument("--probe", default=None,
                    help="signin: a shell command run just before and just after the measured "
                         "sign-ins; its outputs are printed as 'before X' and 'after Y'")
    ap.add_argument("--metrics", default=None,
                    help="signin: eid's /metrics URL; its request-latency histogram is read just "
                         "before and just after the measured sign-ins, and the time eid itself "
                         "took over their requests is printed as 'server_seconds S' (a sign-in), "
                         "with the time and number of its Argon2id checks as "
                         "'server_check_seconds S' and 'server_checks N'")
    ap.add_argument("--new-device", action="store_true",
                    help="signin: each sign-in in a new browser (the SMS code step included)")
    ap.add_argument("--steps", action="store_true",
                    help="signin: also print each request of a sign-in (method, path, status) "
                         "with its mean time to the answer's headers, as 'step MS METHOD PATH STATUS'")
    a = ap.parse_args()
    fields = dict(f.split("=", 1) for f in a.field)
    meta = requests.get(a.issuer + "/.well-known/openid-configuration", timeout=30).json()

    if a.what == "mint":
        browser = requests.Session()
        first = walk(browser, authorize_url(meta, a), a.redirect_uri, fields, code_command=a.code_command)
        codes = [code_of(first)]

        def one(_):
            s = requests.Session()
            s.cookies.update(browser.cookies)
            r = s.get(authorize_url(meta, a), allow_redirects=False, timeout=30)
            return code_of(r.headers.get("location", ""))

        with ThreadPoolExecutor(4) as pool:
            codes += list(pool.map(one, range(a.count - 1)))
        with open(a.out, "w") as f:
            f.write("\n".join(codes) + "\n")
        return

    # The browser is known to eid (its device cookie, bound once with the SMS code, as a
    # returning citizen's is); each sign-in starts without a session.
    known = requests.Session()
    walk(known, authorize_url(meta, a), a.redirect_uri, fields, code_command=a.code_command)
    device = {k: v for k, v in known.cookies.items() if k != "eid_me"}
    def probe(label):
        if a.probe:
            out = subprocess.run(a.probe, shell=True, check=True, capture_output=True, text=True)
            print(f"{label} {out.stdout.strip()}")

    steps = {}

    def timed(r, *_args, **_kw):
        key = (r.request.method, urlparse(r.request.url).path, r.status_code)
        steps.setdefault(key, []).append(r.elapsed.total_seconds())

    # The SMS code's look-up (another process asking eid's staff API) is the citizen reading
    # their phone: its time is taken out of the sign-in's.
    import authlib_client
    outside = [0.0]
    real_run = authlib_client.subprocess.run

    def timed_run(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real_run(*args, **kwargs)
        finally:
            outside[0] += time.perf_counter() - t0
    authlib_client.subprocess.run = timed_run

    def histogram():
        """(sum of seconds, count) of eid's request-latency histogram, and the seconds and
        number of eid's Argon2id checks (its hashing pool's counters)."""
        got = {}
        names = {
            "eid_http_request_duration_seconds_sum": "sum",
            "eid_http_request_duration_seconds_count": "count",
            "eid_secret_check_seconds_total": "checks_s",
            "eid_secret_checks_total": "checks",
        }
        for line in requests.get(a.metrics, timeout=30).text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                got[names[name]] = float(value)
        # A build before the hashing pool's counters has none: None for both.
        return got["sum"], got["count"], got.get("checks_s"), got.get("checks")

    probe("before")
    h0 = histogram() if a.metrics else None
    total = 0.0
    for _ in range(a.count):
        browser = requests.Session()
        if not a.new_device:
            browser.cookies.update(device)
        if a.steps:
            browser.hooks["response"].append(timed)
        start = time.perf_counter()
        outside[0] = 0.0
        back = walk(browser, authorize_url(meta, a), a.redirect_uri, fields,
                    code_command=a.code_command if a.new_device else None)
        r = requests.post(meta["token_endpoint"], auth=(a.client_id, a.client_secret), timeout=30, data={
            "grant_type": "authorization_code", "code": code_of(back),
            "redirect_uri": a.redirect_uri, "code_verifier": VERIFIER}, hooks={"response": timed} if a.steps else None)
        total += time.perf_counter() - start - outside[0]
        if r.status_code != 200 or "id_token" not in r.json():
            raise SystemExit(f"token endpoint answered {r.status_code}")
    if a.metrics:
        # The first read's own request is counted in the second: one request more than the
        # sign-ins made, its time (a few hundred microseconds) included.
        h1 = histogram()
        print(f"server_seconds {(h1[0] - h0[0]) / a.count:.6f}")
        print(f"server_requests {(h1[1] - h0[1] - 1) / a.count:g}")
        if h1[2] is not None:
            print(f"server_check_seconds {(h1[2] - h0[2]) / a.count:.6f}")
            print(f"server_checks {(h1[3] - h0[3]) / a.count:g}")
    probe("after")
    for (method, path, status), ts in steps.items():
        print(f"step {1000 * sum(ts) / len(ts):.2f} {method} {path} {status} x{len(ts) / a.count:g}")
    print(f"seconds {total / a.count:.6f}")


if __name__ == "__main__":
    main()
