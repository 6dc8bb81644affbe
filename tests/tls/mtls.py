#!/usr/bin/env python3
"""Mutual TLS against Twofold with Python's requests (RFC 8705), and the certificates for it.

  mtls.py certs DIR
      Makes a test CA and, under it, a server certificate for localhost/127.0.0.1, the
      gateway's client certificate and another client's; plus a self-signed "rogue" one.
  mtls.py run URL CLIENT_ID DIR
      Gets a token with the gateway's certificate (tls_client_auth), then tries what an
      attacker would, and uses the certificate-bound token on the verify API with and
      without the certificate. Prints the statuses and the token's cnf as JSON.
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import sys

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write(directory, name, key, cert):
    with open(os.path.join(directory, f"{name}.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(os.path.join(directory, f"{name}.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def issue(name, issuer_name, issuer_key, key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def certs(directory):
    os.makedirs(directory, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("Twofold test CA", None, ca_key, ca_key, ca=True)
    write(directory, "ca", ca_key, ca)
    for name, server in (("server", True), ("gateway", False), ("other", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        write(directory, name, key, issue(name, ca.subject, ca_key, key, server=server))
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    write(directory, "rogue", rogue_key, issue("gateway", None, rogue_key, rogue_key))


def run(url, client_id, directory):
    path = lambda name: os.path.join(directory, name)  # noqa: E731
    ca = path("ca.pem")
    as_ = lambda name: (path(f"{name}.pem"), path(f"{name}.key"))  # noqa: E731
    token_url = f"{url}/oauth2/token"
    form = {"grant_type": "client_credentials", "client_id": client_id}

    def post(cert):
        try:
            return requests.post(token_url, data=form, cert=cert, verify=ca, timeout=10).status_code
        except requests.exceptions.SSLError:
            return "handshake refused"

    result = {"healthz_without_certificate": requests.get(f"{url}/healthz", verify=ca, timeout=10).status_code}
    granted = requests.post(token_url, data=form, cert=as_("gateway"), verify=ca, timeout=10)
    result["token"] = granted.status_code
    token = granted.json()["access_token"]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    result["cnf"] = payload.get("cnf")
    with open(path("gateway.pem"), "rb") as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    result["expected_x5t"] = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    result["without_certificate"] = post(None)
    result["other_clients_certificate"] = post(as_("other"))
    result["rogue_certificate"] = post(as_("rogue"))

    def verify(cert):
        response = requests.post(
            f"{url}/api/v1/verify",
            json={"username": "bob", "code": "123456"},
            headers={"Authorization": f"Bearer {token}"},
            cert=cert,
            verify=ca,
            timeout=10,
        )
        return response.status_code

    result["bound_token_with_certificate"] = verify(as_("gateway"))
    result["bound_token_without_certificate"] = verify(None)
    result["bound_token_with_other_certificate"] = verify(as_("other"))
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "certs":
        certs(sys.argv[2])
    else:
        run(*sys.argv[2:5])
