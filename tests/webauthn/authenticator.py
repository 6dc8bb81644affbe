#!/usr/bin/env python3
"""A software FIDO2 authenticator for Twofold's black-box tests.

ES256 credentials, user verification always performed, "packed" attestation signed by an
attestation certificate issued by a test CA (or "none" attestation), and assertions with a
sign counter. Built on the `cryptography` package with a minimal CBOR encoder; its state
(the CA and the credential) lives in a directory.

  authenticator.py ca DIR [--issuer ROOT_DIR] [--aaguid UUID]
                                              make a CA and an attestation certificate;
                                              prints {"ca_pem": ..., "aaguid": ...}. With
                                              --issuer, the certificate is issued by the CA
                                              in ROOT_DIR instead of a new one; --aaguid
                                              names the key model (default: a random one)
  authenticator.py create DIR ORIGIN [none]   creation options (WebAuthn JSON) on stdin;
                                              prints the new credential (WebAuthn JSON)
  authenticator.py get DIR ORIGIN             request options on stdin; prints the assertion
"""

import base64
import datetime
import hashlib
import json
import os
import sys
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value) -> bytes:
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for extra, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | extra]) + n.to_bytes(size, "big")
        raise ValueError("too large")

    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode()
        return head(3, len(encoded)) + encoded
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


def pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_key(path: str):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def make_ca(directory: str, issuer: str | None = None, aaguid: str | None = None) -> dict:
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Twofold Test Attestation Root")])
    if issuer is not None:
        ca_key = load_key(os.path.join(issuer, "ca.key"))
        with open(os.path.join(issuer, "ca.pem"), "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
        ca_name = ca_cert.subject
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
    aaguid = uuid.UUID(aaguid) if aaguid is not None else uuid.uuid4()
    att_key = ec.generate_private_key(ec.SECP256R1())
    att_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Twofold Test Keys"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Twofold Test Key"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(att_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.UnrecognizedExtension(AAGUID_OID, b"\x04\x10" + aaguid.bytes), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(ca_pem)
    with open(os.path.join(directory, "ca.key"), "wb") as f:
        f.write(pem_key(ca_key))
    with open(os.path.join(directory, "att.der"), "wb") as f:
        f.write(att_cert.public_bytes(serialization.Encoding.DER))
    with open(os.path.join(directory, "att.key"), "wb") as f:
        f.write(pem_key(att_key))
    with open(os.path.join(directory, "aaguid"), "w") as f:
        f.write(str(aaguid))
    return {"ca_pem": ca_pem.decode(), "aaguid": str(aaguid)}


def client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()


def create(directory: str, origin: str, attest: bool, options: dict) -> dict:
    rp_id = options["rp"]["id"]
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    cred_id = os.urandom(32)
    aaguid_path = os.path.join(directory, "aaguid")
    aaguid = uuid.UUID(open(aaguid_path).read()).bytes if attest else bytes(16)
    flags = 0x01 | 0x04 | 0x40  # user present, user verified, attested credential data
    auth_data = (
        hashlib.sha256(rp_id.encode()).digest()
        + bytes([flags])
        + (0).to_bytes(4, "big")
        + aaguid
        + len(cred_id).to_bytes(2, "big")
        + cred_id
        + cbor(cose_key)
    )
    data = client_data("webauthn.create", options["challenge"], origin)
    if attest:
        att_key = load_key(os.path.join(directory, "att.key"))
        signature = att_key.sign(auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256()))
        with open(os.path.join(directory, "att.der"), "rb") as f:
            statement = {"alg": -7, "sig": signature, "x5c": [f.read()]}
        attestation = {"fmt": "packed", "attStmt": statement, "authData": auth_data}
    else:
        attestation = {"fmt": "none", "attStmt": {}, "authData": auth_data}
    state = {
        "cred_id": b64url(cred_id),
        "key": pem_key(key).decode(),
        "user_handle": options["user"]["id"],
        "rp_id": rp_id,
        "counter": 0,
    }
    with open(os.path.join(directory, "credential.json"), "w") as f:
        json.dump(state, f)
    return {
        "id": b64url(cred_id),
        "rawId": b64url(cred_id),
        "type": "public-key",
        "response": {
            "attestationObject": b64url(cbor(attestation)),
            "clientDataJSON": b64url(data),
            "transports": ["usb"],
        },
        "extensions": {},
    }


def get(directory: str, origin: str, options: dict) -> dict:
    with open(os.path.join(directory, "credential.json")) as f:
        state = json.load(f)
    state["counter"] += 1
    rp_id = options.get("rpId", state["rp_id"])
    auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([0x01 | 0x04]) + state["counter"].to_bytes(4, "big")
    data = client_data("webauthn.get", options["challenge"], origin)
    key = serialization.load_pem_private_key(state["key"].encode(), None)
    signature = key.sign(auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256()))
    with open(os.path.join(directory, "credential.json"), "w") as f:
        json.dump(state, f)
    return {
        "id": state["cred_id"],
        "rawId": state["cred_id"],
        "type": "public-key",
        "response": {
            "authenticatorData": b64url(auth_data),
            "clientDataJSON": b64url(data),
            "signature": b64url(signature),
            "userHandle": state["user_handle"],
        },
        "extensions": {},
    }


def main() -> None:
    command, directory = sys.argv[1], sys.argv[2]
    if command == "ca":
        flags = dict(zip(sys.argv[3::2], sys.argv[4::2]))
        unknown = set(flags) - {"--issuer", "--aaguid"}
        if unknown or len(sys.argv[3:]) % 2:
            raise SystemExit(f"usage: ca DIR [--issuer ROOT_DIR] [--aaguid UUID]; got {sys.argv[3:]}")
        result = make_ca(directory, flags.get("--issuer"), flags.get("--aaguid"))
    elif command == "create":
        result = create(directory, sys.argv[3], sys.argv[4:] != ["none"], json.load(sys.stdin))
    elif command == "get":
        result = get(directory, sys.argv[3], json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
