#!/usr/bin/env python3
"""eid as an OpenID provider, seen by pip `authlib`, a second client independent of eid's own code.

Code flow with PKCE (S256) and client_secret_basic against a running eid: discovery, the
authorization request, the citizen's sign-in and consent on eid's own pages (walked as a browser
without JavaScript would: the page's form filled from --field NAME=VALUE, hidden inputs kept,
the approving button pressed), the authorization response (state, RFC 9207 `iss`), the code
exchange, the ID token validated with authlib's JOSE against the provider's JWKS (alg, iss, aud,
nonce, exp), then userinfo with the access token.

Prints one JSON object (the claim names released, never their values) and exits 0 when every
check passed; any failed check prints `authlib client: FAILED: ...` on stderr and exits 1.
"""
import argparse
import base64
import json
import subprocess
import sys
import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse, parse_qs

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

# Button labels a citizen would press to go on (sign in, allow the sharing), in Vietnamese and English.
APPROVE = ("allow", "approve", "accept", "consent", "continue", "yes", "sign in", "log in", "login",
           "đồng ý", "cho phép", "tiếp tục", "đăng nhập", "xác nhận", "chia sẻ")
REFUSE = ("deny", "refuse", "cancel", "reject", "từ chối", "huỷ", "hủy", "không")


class Failed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failed(what)


class Forms(HTMLParser):
    """Every <form> of a page with its inputs and submit buttons (name, value, label)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "inputs": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1]["buttons"].append({"name": a.get("name"), "value": a.get("value", ""),
                                                  "label": a.get("value", "")})
            elif kind in ("checkbox", "radio"):
                if "checked" in a and a.get("name"):
                    self.forms[-1]["inputs"].append({"name": a["name"], "type": kind,
                                                     "value": a.get("value", "on")})
            elif a.get("name"):
                self.forms[-1]["inputs"].append({"name": a["name"], "type": kind, "value": a.get("value", "")})
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = {"name": a.get("name"), "value": a.get("value", ""), "label": ""}
            self.forms[-1]["buttons"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button["label"] += data

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None


def words(button):
    return (button["label"] + " " + (button["value"] or "")).strip().lower()


def pick(forms, fields):
    """The form a citizen would fill on this page, and the button they would press."""
    posts = [f for f in forms if f["method"] == "post"]
    check(posts, "a page on the way has no form to go on with")

    def score(form):
        names = {i["name"] for i in form["inputs"]}
        s = 10 * len(names & set(fields))
        if any(any(w in words(b) for w in APPROVE) for b in form["buttons"]):
            s += 1
        if form["buttons"] and all(any(w in words(b) for w in REFUSE) for b in form["buttons"]):
            s -= 100
        return s

    form = max(posts, key=score)
    buttons = [b for b in form["buttons"] if not any(w in words(b) for w in REFUSE)]
    approving = [b for b in buttons if any(w in words(b) for w in APPROVE)]
    button = (approving or buttons or [None])[0]
    return form, button


def walk(browser, url, redirect_uri, fields, steps=25, code_command=None):
    """Follows the provider's pages from the authorization URL to the redirect to the client:
    redirects are followed; a page is answered by posting its form (a next step, or the same
    form again with an error message, which the step limit ends). A form that asks for a `code`
    not given in `fields` (a new browser's SMS code) gets the output of `code_command`."""
    resp = browser.get(url, allow_redirects=False, timeout=30)
    trace = []
    for _ in range(steps):
        if resp.status_code in (301, 302, 303, 307, 308):
            url = urljoin(resp.url, resp.headers["location"])
            if url.startswith(redirect_uri):
                return url
            trace.append(f"-> {urlparse(url).path}")
            resp = browser.get(url, allow_redirects=False, timeout=30)
            continue
        check(resp.status_code in (200, 202), f"page {urlparse(resp.url).path} answered {resp.status_code}")
        parser = Forms()
        parser.feed(resp.text)
        form, button = pick(parser.forms, fields)
        data = {i["name"]: fields.get(i["name"], i["value"]) for i in form["inputs"]}
        if "code" in data and "code" not in fields and not data["code"]:
            check(code_command, "a page asks for an SMS code: give --code-command")
            data["code"] = subprocess.run(code_command, shell=True, check=True, capture_output=True,
                                          text=True).stdout.strip().splitlines()[-1]
        if button and button["name"]:
            data[button["name"]] = button["value"]
        target = urljoin(resp.url, form["action"] or resp.url)
        trace.append(f"{urlparse(target).path} <- {sorted(k for k in data if k != 'csrf')}")
        resp = browser.post(target, data=data, allow_redirects=False, timeout=30)
    print("\n".join(trace), file=sys.stderr)
    raise Failed("the sign-in did not reach the client's redirect URI")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--scope", default="openid profile")
    ap.add_argument("--alg", default="RS256", help="the ID token's expected signing algorithm")
    ap.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                    help="a value the citizen types into eid's pages (repeatable)")
    ap.add_argument("--code-command", default=None,
                    help="a shell command printing the SMS code a new browser is asked for")
    ap.add_argument("--expect-claims", default=None,
                    help="comma-separated: these claims (besides sub) in userinfo, and no others "
                         "but those of --allow-claims")
    ap.add_argument("--allow-claims", default=None,
                    help="comma-separated: claims userinfo may also release (e.g. middle_name)")
    args = ap.parse_args()
    fields = dict(f.split("=", 1) for f in args.field)

    meta = requests.get(args.issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=30).json()
    check(meta.get("issuer") == args.issuer, "discovery's issuer is not the URL it was fetched from")
    check("S256" in meta.get("code_challenge_methods_supported", []), "discovery does not offer PKCE S256")
    check(args.alg in meta.get("id_token_signing_alg_values_supported", []),
          f"discovery does not offer {args.alg} ID tokens")

    client = OAuth2Session(args.client_id, args.client_secret, scope=args.scope,
                           redirect_uri=args.redirect_uri, code_challenge_method="S256",
                           token_endpoint_auth_method="client_secret_basic")
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                                 nonce=nonce)

    browser = requests.Session()
    back = walk(browser, url, args.redirect_uri, fields, code_command=args.code_command)
    query = parse_qs(urlparse(back).query)
    check("error" not in query, f"the authorization answered error={query.get('error')}")
    check(query.get("state") == [state], "the authorization response's state is not ours")
    check(query.get("iss") == [args.issuer], "the authorization response lacks iss (RFC 9207) or it differs")

    token = client.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
    check(token.get("token_type", "").lower() in ("bearer", "dpop"), "the token response has no token_type")
    check("id_token" in token, "the token response has no id_token")

    header = json.loads(_b64json(token["id_token"].split(".")[0]))
    check(header.get("alg") == args.alg, f"the ID token is signed {header.get('alg')}, not {args.alg}")
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=30).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={
        "iss": {"essential": True, "value": args.issuer},
        "aud": {"essential": True, "value": args.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    })
    claims.validate(now=int(time.time()), leeway=5)

    info = client.get(meta["userinfo_endpoint"], timeout=30)
    check(info.status_code == 200, f"userinfo answered {info.status_code}")
    user = info.json()
    check(user.get("sub") == claims["sub"], "userinfo's sub differs from the ID token's")
    released = sorted(k for k in user if k != "sub")
    if args.expect_claims is not None:
        expected = {c for c in args.expect_claims.split(",") if c}
        allowed = expected | {c for c in (args.allow_claims or "").split(",") if c}
        check(expected <= set(released), f"userinfo released {released}, without all of {sorted(expected)}")
        check(set(released) <= allowed, f"userinfo released {released}, more than {sorted(allowed)}")

    print(json.dumps({"ok": True, "alg": header["alg"], "id_token_claims": sorted(claims.keys()),
                      "userinfo_claims": released, "acr": claims.get("acr"),
                      "refresh_token": "refresh_token" in token}))


def _b64json(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print(f"authlib client: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # authlib's own validation errors (bad signature, wrong aud, expired)
        print(f"authlib client: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
