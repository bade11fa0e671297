"""Response headers every page carries (the CSP of DESIGN.md §7 and its companions), the
no-store rule for authenticated answers, and trusting a reverse proxy's forwarded headers."""

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Answers that hold nothing personal and choose their own caching even for a signed-in
# visitor: static files (fingerprinted, far-future), the public site (works offline once
# seen), the service worker and its offline page, health checks.
PUBLIC_BLUEPRINTS = frozenset({"public", "open311"})
PUBLIC_ENDPOINTS = frozenset(
    {"static", "pwa.service_worker", "pwa.offline", "web.favicon", "web.healthz"}
)


# The residents' side of the site lives under these paths whatever blueprint serves it
# (webapp/residents serves staff pages too, under /residents/).
PUBLIC_PATH_PREFIXES = ("/public/", "/open311/")


def is_public_endpoint(endpoint: str | None, path: str = "") -> bool:
    if endpoint is None:  # 404 for an unknown URL: nothing of anyone's in it
        return True
    if path == "/public" or path.startswith(PUBLIC_PATH_PREFIXES):
        return True
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".", 1)[0] in PUBLIC_BLUEPRINTS


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address, scheme, host and port
    from their X-Forwarded-* headers: the login limiter then counts per real client, and the
    sync API's Origin check sees the https origin the browser used. With 0 (the default) the
    headers are ignored, since anyone can send them."""
    hops = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0
        )


def init_app(app: Flask) -> None:
    trust_proxies(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "geolocation=(self), camera=(self), microphone=()"
        )
        if app.config.get("PRODUCTION"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def _no_store_when_signed_in(response: Response) -> Response:
        # A shared phone's browser cache, a proxy or the back button must not keep a page
        # or an answer made for one signed-in user (DESIGN.md §7). Overrides what a view set.
        if is_public_endpoint(request.endpoint, request.path):
            return response
        # The user as the view loaded it (Flask-Login keeps it in g): loading it here would
        # touch the database on answers, such as a 503 for a database that is down, that
        # never needed it.
        user = g.get("_login_user")
        signed_in = user is not None and user.is_authenticated
        if signed_in or "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
