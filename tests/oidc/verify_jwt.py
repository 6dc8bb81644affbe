#!/usr/bin/env python3
"""Verifies a JWT against a JWKS with Authlib (a library Twofold did not write).

  verify_jwt.py JWKS_URL TOKEN

Prints {"alg": header alg, "kid": header kid, "typ": header typ, "claims": {...}} when the signature checks out
with a key from the JWKS; exits non-zero otherwise.
"""

import json
import sys

import requests
from authlib.jose import JsonWebKey, jwt

jwks = requests.get(sys.argv[1], timeout=10).json()
token = sys.argv[2]
claims = jwt.decode(token, JsonWebKey.import_key_set(jwks))
header = claims.header
print(json.dumps({"alg": header["alg"], "kid": header.get("kid"), "typ": header.get("typ"), "claims": dict(claims)}))
