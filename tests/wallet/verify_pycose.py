"""Verifies an eid wallet presentation with implementations that are not eid's: pip `pycose`
(COSE_Sign1, ES256), `cbor2` (the CWT claims) and `base45` (RFC 9285), using only the JWKS the
platform publishes. Usage: verify_pycose.py JWKS_FILE TEXT_FILE [NOW]. Prints the disclosed
claims as JSON and exits 0 when valid; prints the reason and exits 1 when refused."""

import base64
import json
import sys
import time

import base45
import cbor2
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import CoseMessage


def b64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    jwks = json.load(open(sys.argv[1]))
    text = open(sys.argv[2]).read().strip("\r\n")
    now = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
    if not text.startswith("EID1:"):
        print("malformed")
        return 1
    try:
        msg = CoseMessage.decode(base45.b45decode(text[5:]))
    except Exception as e:  # noqa: BLE001 - any decoding failure is a refusal
        print(f"malformed: {e}")
        return 1
    alg = msg.phdr.get(Algorithm)
    if getattr(alg, "fullname", None) != "ES256":
        print(f"unexpected alg {alg}")
        return 1
    kid = msg.phdr.get(KID, b"").decode()
    jwk = next((k for k in jwks["keys"] if k.get("kid") == kid), None)
    if jwk is None or jwk.get("kty") != "EC":
        print("unknown_key")
        return 1
    msg.key = EC2Key(crv=P256, x=b64(jwk["x"]), y=b64(jwk["y"]))
    if not msg.verify_signature():
        print("bad_signature")
        return 1
    claims = cbor2.loads(msg.payload)
    if claims.get(4, 0) <= now:
        print("expired")
        return 1
    shown = {k: v for k, v in claims.items() if isinstance(k, str)}
    shown["_status_idx"] = claims[65535]["status_list"]["idx"]
    print(json.dumps(shown, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
