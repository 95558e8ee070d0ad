"""A tiny real OpenID Connect provider for tests (authorization code flow, no network).

Runs in a thread on a free localhost port (stdlib ``http.server``) and serves:

- ``/.well-known/openid-configuration``: the discovery document (issuer = :attr:`issuer`);
- ``/authorize``: no consent screen; redirects at once to ``redirect_uri`` with a one-time
  ``code`` and the ``state``, remembering the ``nonce`` and any PKCE ``code_challenge`` (S256);
- ``/token``: checks the client id and secret (HTTP Basic or form), the code, its redirect URI
  and the PKCE verifier; returns an access token and an RS256-signed id token with ``iss``,
  ``sub``, ``aud``, ``exp``, ``iat``, ``nonce``, ``email`` and ``name``;
- ``/jwks``: the public RSA key; ``/userinfo``: the claims for a bearer access token;
- ``/logout`` (the ``end_session_endpoint``): records the subject of the ``id_token_hint`` in
  :attr:`logouts` and redirects to ``post_logout_redirect_uri``.

The identity issued is whatever :attr:`subject`, :attr:`email` and :attr:`name` hold when
``/authorize`` is called, so a test changes them between sign-ins. Keys are made per instance
with ``cryptography`` (a dependency of Authlib).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_ID = "test-key-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    claims: dict[str, str]


@dataclass
class OIDCProvider:
    """The provider; use as a context manager (``with OIDCProvider() as idp:``)."""

    client_id: str = "evalpanel-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    subject: str = "user-1"
    email: str = "user1@example.org"
    name: str = "User One"
    id_token_ttl_s: int = 300
    authorize_count: int = 0
    logouts: list[str] = field(default_factory=list)
    _key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, dict[str, str]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None, "start the provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> OIDCProvider:
        provider = self

        class Handler(_Handler):
            idp = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol -------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        i = self.issuer
        return {
            "issuer": i,
            "authorization_endpoint": f"{i}/authorize",
            "token_endpoint": f"{i}/token",
            "userinfo_endpoint": f"{i}/userinfo",
            "jwks_uri": f"{i}/jwks",
            "end_session_endpoint": f"{i}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "name"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
                          "n": _int_b64(public.n), "e": _int_b64(public.e)}]}

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """``(status, redirect location or error text)`` for an authorization request."""
        if query.get("client_id") != self.client_id:
            return 400, "unknown client_id"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", ""):
            return 400, "only the code flow with scope openid is served"
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://127.0.0.1:", "http://localhost:")):
            return 400, "redirect_uri must be on this machine"
        challenge = query.get("code_challenge")
        if challenge is not None and query.get("code_challenge_method") != "S256":
            return 400, "only S256 PKCE is served"
        self.authorize_count += 1
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(self.client_id, redirect_uri, query.get("nonce"), challenge,
                                    {"sub": self.subject, "email": self.email, "name": self.name})
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, f"{redirect_uri}?{urlencode(back)}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self._grants.pop(form.get("code", ""), None)  # a code is used once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": grant.client_id, "iat": now,
                                  "exp": now + self.id_token_ttl_s, **grant.claims}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        access = secrets.token_urlsafe(24)
        self._access[access] = grant.claims
        return 200, {"access_token": access, "token_type": "Bearer",
                     "expires_in": self.id_token_ttl_s, "scope": "openid email profile",
                     "id_token": self.sign(claims)}

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT of ``claims`` signed with this provider's key."""
        header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
        signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                                 for part in (header, claims))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def logout(self, query: dict[str, str]) -> tuple[int, str]:
        """End the provider's session: ``(status, redirect location or error text)``."""
        back = query.get("post_logout_redirect_uri", "")
        if not back.startswith(("http://127.0.0.1:", "http://localhost:")):
            return 400, "post_logout_redirect_uri must be on this machine"
        hint = query.get("id_token_hint", "")
        try:
            payload = hint.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (IndexError, ValueError):
            claims = {}
        self.logouts.append(str(claims.get("sub", "")))
        return 302, back

    def userinfo(self, bearer: str | None) -> tuple[int, Any]:
        claims = self._access.get(bearer or "")
        return (200, claims) if claims is not None else (401, {"error": "invalid_token"})


class _Handler(BaseHTTPRequestHandler):
    idp: OIDCProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, *, location: str | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Type",
                         "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._send(200, self.idp.discovery())
        elif url.path == "/jwks":
            self._send(200, self.idp.jwks())
        elif url.path in ("/authorize", "/logout"):
            status, where = (self.idp.authorize if url.path == "/authorize"
                             else self.idp.logout)(query)
            if status == 302:
                self._send(302, "", location=where)
            else:
                self._send(status, where)
        elif url.path == "/userinfo":
            auth = self.headers.get("Authorization", "")
            self._send(*self.idp.userinfo(auth[7:] if auth.startswith("Bearer ") else None))
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/token":
            self._send(404, "not found")
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        basic = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            basic = (unquote(user), unquote(password))
        self._send(*self.idp.token(form, basic))
