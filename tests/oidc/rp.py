#!/usr/bin/env python3
"""An OpenID Connect relying party on Authlib (a library Twofold did not write).

Runs the authorization code flow with PKCE (S256), state and nonce against Twofold: the
"browser" part follows Twofold's redirects and fills the sign-in pages (password, then a
one-time code); the app part exchanges the code with client_secret_basic, verifies the ID
token's signature from the JWKS and its iss/aud/nonce/exp, and calls userinfo.

  rp.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI USERNAME PASSWORD CODE [ACR,ACR...] [PASSKEY_DIR]

One sign-in per comma-separated acr_values entry, in one browser session (so a later round is
a step-up); a round asking for phr/phrh answers the second step with the passkey held in
PASSKEY_DIR (tests/webauthn/authenticator.py). Prints {"rounds": [{"claims", "userinfo",
"token" (without the tokens themselves)}, ...]}.
"""

import html
import json
import os
import re
import sys
from urllib.parse import urljoin, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt


def hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def passkey_step(browser, issuer: str, page: str, passkey_dir: str) -> requests.Response:
    """The second step with a passkey: the JSON ceremony the page's script would run."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "webauthn"))
    import authenticator  # the tests' software FIDO2 device

    csrf = {"X-CSRF-Token": hidden(page, "csrf")}
    start = browser.post(f"{issuer}/login/mfa/passkey/options", json={}, headers=csrf, timeout=10).json()
    answer = authenticator.get(passkey_dir, issuer, start["options"])
    body = {"ceremony": start["ceremony"], "credential": answer, "return_to": hidden(page, "return_to")}
    done = browser.post(f"{issuer}/login/mfa/passkey", json=body, headers=csrf, timeout=10).json()
    return browser.get(urljoin(issuer, done["redirect"]), allow_redirects=False, timeout=10)


def sign_in(app, metadata, browser, issuer, redirect_uri, username, password, code, acr, passkey_dir):
    """One authorization: returns the ID token's verified claims, userinfo and token fields."""
    verifier = generate_token(64)
    nonce = generate_token(24)
    extra = {"nonce": nonce}
    if acr:
        extra["acr_values"] = acr
    url, state = app.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, **extra)
    response = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(12):
        if response.is_redirect:
            location = response.headers["location"]
            if location.startswith(redirect_uri):
                break
            response = browser.get(urljoin(issuer, location), allow_redirects=False, timeout=10)
            continue
        page = urlparse(response.url).path
        text = response.text
        if page == "/login/mfa" and acr in ("phr", "phrh"):
            response = passkey_step(browser, issuer, text, passkey_dir)
            continue
        form = {"csrf": hidden(text, "csrf"), "return_to": hidden(text, "return_to")}
        if page == "/login":
            form.update(username=username, password=password)
        elif page == "/login/mfa":
            form.update(code=code)
        else:
            raise SystemExit(f"unexpected page {response.url}: {response.status_code}")
        response = browser.post(urljoin(issuer, page), data=form, allow_redirects=False, timeout=10)
    else:
        raise SystemExit("too many steps")

    token = app.fetch_token(metadata["token_endpoint"], authorization_response=location, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": app.client_id},
            "nonce": {"essential": True, "value": nonce},
        },
    )
    claims.validate()
    userinfo = app.get(metadata["userinfo_endpoint"]).json()
    summary = {k: v for k, v in token.items() if k not in ("id_token", "access_token")}
    return {"claims": dict(claims), "userinfo": userinfo, "token": summary, "state": state}


def main() -> None:
    issuer, client_id, client_secret, redirect_uri, username, password, code = sys.argv[1:8]
    acr_rounds = sys.argv[8].split(",") if len(sys.argv) > 8 and sys.argv[8] else [None]
    passkey_dir = sys.argv[9] if len(sys.argv) > 9 else None
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == issuer, metadata
    app = OAuth2Session(
        client_id,
        client_secret,
        scope="openid profile email groups",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    browser = requests.Session()
    rounds = [
        sign_in(app, metadata, browser, issuer, redirect_uri, username, password, code, acr, passkey_dir)
        for acr in acr_rounds
    ]
    json.dump({"rounds": rounds}, sys.stdout)


if __name__ == "__main__":
    main()
