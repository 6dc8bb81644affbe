#!/usr/bin/env python3
"""A service account authenticating with private_key_jwt (RFC 7523), on Authlib.

  service_jwt.py keygen DIR
      Makes an RSA-2048 and a P-256 key in DIR; writes their public halves as a JWK Set to
      DIR/public.jwks.json (the RSA key without a kid, as a bare PEM key is used; the EC key
      with one).
  service_jwt.py token ISSUER CLIENT_ID DIR SCOPE
      Gets a token with Authlib's OAuth2Session and PrivateKeyJWT (RS256), then tries what
      an attacker would: replaying one assertion, signing with a key that is not registered,
      an expired assertion, an assertion for another server, and a tampered one. Prints
      {"token": {...}, "es256": status, "replay": [status, status], "unregistered": ...}.
"""

import base64
import json
import os
import sys
import time

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def keygen(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for name, key in (("rsa", rsa_key), ("ec", ec_key), ("stranger", rsa.generate_private_key(65537, 2048))):
        with open(os.path.join(directory, f"{name}.pem"), "wb") as f:
            f.write(pem(key))
    rsa_jwk = JsonWebKey.import_key(pem(rsa_key)).as_dict(is_private=False)
    ec_jwk = JsonWebKey.import_key(pem(ec_key)).as_dict(is_private=False)
    # RFC 7518 §6.2.1.2: each coordinate is the full 32 bytes. Authlib drops leading zero
    # bytes (about one key in 128), which the server rightly refuses: put them back.
    for coordinate in ("x", "y"):
        raw = base64.urlsafe_b64decode(ec_jwk[coordinate] + "=" * (-len(ec_jwk[coordinate]) % 4))
        ec_jwk[coordinate] = base64.urlsafe_b64encode(raw.rjust(32, b"\0")).rstrip(b"=").decode()
    rsa_jwk.pop("kid", None)
    ec_jwk["kid"] = "ec-1"
    with open(os.path.join(directory, "public.jwks.json"), "w") as f:
        json.dump({"keys": [rsa_jwk, ec_jwk]}, f)


def read(directory: str, name: str) -> bytes:
    with open(os.path.join(directory, f"{name}.pem"), "rb") as f:
        return f.read()


def post(token_url: str, client_id: str, assertion, scope: str) -> requests.Response:
    return requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=10,
    )


def token(issuer: str, client_id: str, directory: str, scope: str) -> None:
    token_url = issuer + "/oauth2/token"
    session = OAuth2Session(client_id, read(directory, "rsa"), token_endpoint_auth_method=PrivateKeyJWT(token_url), scope=scope)
    result = {"token": dict(session.fetch_token(token_url, grant_type="client_credentials"))}

    es256 = private_key_jwt_sign(read(directory, "ec"), client_id, token_url, alg="ES256", header={"kid": "ec-1"})
    result["es256"] = post(token_url, client_id, es256, scope).status_code

    once = private_key_jwt_sign(read(directory, "rsa"), client_id, token_url)
    first = post(token_url, client_id, once, scope)
    second = post(token_url, client_id, once, scope)
    result["replay"] = [first.status_code, second.status_code, second.json().get("error_description")]

    stranger = private_key_jwt_sign(read(directory, "stranger"), client_id, token_url)
    result["unregistered"] = post(token_url, client_id, stranger, scope).status_code

    now = int(time.time())
    expired = private_key_jwt_sign(read(directory, "rsa"), client_id, token_url, issued_at=now - 7200, expires_at=now - 3600)
    result["expired"] = post(token_url, client_id, expired, scope).status_code

    elsewhere = private_key_jwt_sign(read(directory, "rsa"), client_id, "https://other.example/token")
    result["other_audience"] = post(token_url, client_id, elsewhere, scope).status_code

    good = private_key_jwt_sign(read(directory, "rsa"), client_id, token_url)
    header, claims, signature = (good.decode() if isinstance(good, bytes) else good).split(".")
    forged = claims[:-2] + ("AA" if claims[-2:] != "AA" else "BB")
    result["tampered"] = post(token_url, client_id, ".".join([header, forged, signature]), scope).status_code

    result["secret_instead"] = requests.post(
        token_url, data={"grant_type": "client_credentials"}, auth=(client_id, "guess"), timeout=10
    ).status_code
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    else:
        token(*sys.argv[2:6])
