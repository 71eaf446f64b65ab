"""A stand-in OpenID Connect provider on 127.0.0.1 for the sign-in test: discovery, an authorisation
endpoint that signs the configured account in at once, a token endpoint giving an RS256-signed ID token
(with the nonce the app sent) and the key set to check it. Just enough of the protocol for Streamlit's
``st.login`` (Authlib) to run its real code against it."""
from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
import urllib.parse
from contextlib import contextmanager

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "vitrine-test"
CLIENT_SECRET = "stub-secret"


@contextmanager
def stub_provider(account: dict[str, str]):
    """Serve the provider for ``account`` (its claims: email, name...); yields its base URL."""
    key = RSAKey.generate_key(2048, parameters={"kid": "stub"})
    nonces: dict[str, str] = {}

    class Provider(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/.well-known/openid-configuration":
                self._json({"issuer": base, "authorization_endpoint": f"{base}/authorize",
                            "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                            "response_types_supported": ["code"], "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"]})
            elif url.path == "/jwks":
                self._json({"keys": [key.as_dict(private=False)]})
            elif url.path == "/authorize":  # the account signs in at once
                code = secrets.token_urlsafe(16)
                nonces[code] = query.get("nonce", "")
                target = f"{query['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': query['state']})}"
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            else:
                self.send_error(404)

        def do_POST(self):
            form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            now = int(time.time())
            claims = {"iss": base, "sub": "stub-user-1", "aud": CLIENT_ID, "iat": now, "exp": now + 600,
                      "nonce": nonces.pop(form.get("code", ""), ""), **account}
            token = jwt.encode({"alg": "RS256", "kid": "stub"}, claims, key)
            self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 600,
                        "id_token": token})

        def _json(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
