# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Identity: Keystone v3 and v2.0 (with Rackspace API keys) under /identity.

Enough of Keystone for keystoneauth's `password` plugin (version
discovery, then a token with a catalog) and for the `rackspace_apikey`
plugin of `rackspaceauth`, which posts Rackspace's
`RAX-KSKEY:apiKeyCredentials` to `<auth url>/tokens`.

Rackspace's identity scopes a v2.0 token to the user's own tenant when the
request names none; the sandbox does the same, because rackspaceauth's
plugins drop the tenant they are given and never send one.
"""

from __future__ import annotations

from typing import Any

from .model import Project, Token, User
from .protocol import (
    AUTH_REQUIRED,
    ApiError,
    Request,
    Response,
    Settings,
    not_found,
    require_method,
)
from .regions import add_second_region
from .regionset import add_regions
from .state import State

V3_ID = "v3.14"
V3_UPDATED = "2020-04-07T00:00:00Z"
V2_UPDATED = "2014-04-17T00:00:00Z"
V3_MEDIA = [
    {
        "base": "application/json",
        "type": "application/vnd.openstack.identity-v3+json",
    }
]
V2_MEDIA = [
    {
        "base": "application/json",
        "type": "application/vnd.openstack.identity-v2.0+json",
    }
]
V2_BAD_CREDENTIALS = "Username or api key is invalid."
V2_BAD_PASSWORD = "Username or password is invalid."


def _v3_version(base_url: str) -> dict[str, Any]:
    return {
        "id": V3_ID,
        "status": "stable",
        "updated": V3_UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
        "media-types": V3_MEDIA,
    }


def _v2_version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "deprecated",
        "updated": V2_UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/identity/v2.0/"}],
        "media-types": V2_MEDIA,
    }


def catalog_urls(base_url: str, project_id: str) -> list[tuple[str, str, str]]:
    """(type, name, url) of each service a project's catalog lists.

    The compute URL is the legacy, project-scoped v2 form Rackspace used,
    so clients must discover the API version from it; the image URL is
    versionless, as Glance's catalog entries are.
    """
    return [
        ("compute", "nova", f"{base_url}/compute/v2/{project_id}"),
        ("image", "glance", f"{base_url}/image"),
        ("identity", "keystone", f"{base_url}/identity"),
    ]


def authenticate(state: State, request: Request) -> Token:
    """The valid, project-scoped token the request carries, else 401."""
    token_id = request.header("X-Auth-Token")
    token = state.valid_token(token_id) if token_id else None
    if token is None or token.project_id is None:
        raise ApiError(
            401,
            AUTH_REQUIRED,
            headers={
                "WWW-Authenticate": (
                    f'Keystone uri="{request.base_url}/identity"'
                )
            },
        )
    return token


def handle(
    state: State, settings: Settings, request: Request, path: list[str]
) -> Response:
    if not path or path == [""]:
        require_method(request, "GET")
        return Response(
            300,
            {
                "versions": {
                    "values": [
                        _v3_version(request.base_url),
                        _v2_version(request.base_url),
                    ]
                }
            },
        )
    version, rest = path[0], [p for p in path[1:] if p]
    if version == "v3":
        if not rest:
            require_method(request, "GET")
            return Response(200, {"version": _v3_version(request.base_url)})
        if rest == ["auth", "tokens"]:
            return _v3_tokens(state, settings, request)
    if version == "v2.0":
        if not rest:
            require_method(request, "GET")
            return Response(200, {"version": _v2_version(request.base_url)})
        if rest == ["tokens"]:
            require_method(request, "POST")
            return _v2_tokens(state, settings, request)
        if len(rest) == 2 and rest[0] == "tokens":
            require_method(request, "GET")
            return _v2_validate(state, settings, request, rest[1])
    raise not_found()


# ----- v3 -------------------------------------------------------------------


def _v3_error(status: int, message: str) -> ApiError:
    return ApiError(status, message, style="keystone")


def _v3_unauthorized() -> ApiError:
    return _v3_error(401, AUTH_REQUIRED)


def _dig(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or a Keystone 400 naming the missing field."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            raise _v3_error(
                400, f"Invalid input for field '{key}': it is required."
            )
        data = data[key]
    return data


def _in_domain(domain: Any) -> bool:
    """The sandbox has one domain, `default` (named `Default`)."""
    if domain is None:
        return True
    if not isinstance(domain, dict):
        return False
    if "id" in domain:
        return bool(domain["id"] == "default")
    return bool(domain.get("name") == "Default")


def _v3_user(state: State, identity: dict[str, Any]) -> User:
    methods = _dig(identity, "methods")
    if not isinstance(methods, list) or not methods:
        raise _v3_error(400, "Invalid input for field 'methods'.")
    if "password" in methods:
        spec = _dig(identity, "password", "user")
        if not isinstance(spec, dict):
            raise _v3_error(400, "Invalid input for field 'user'.")
        user: User | None = None
        if "id" in spec:
            user = state.users.get(str(spec["id"]))
        elif "name" in spec and _in_domain(spec.get("domain")):
            user = state.user_by_name(str(spec["name"]))
        if user is None or spec.get("password") != user.password:
            raise _v3_unauthorized()
        return user
    if "token" in methods:
        token_id = _dig(identity, "token", "id")
        token = state.valid_token(str(token_id))
        if token is None:
            raise _v3_unauthorized()
        return state.users[token.user_id]
    raise _v3_unauthorized()


def _v3_scope(state: State, user: User, scope: Any) -> Project | None:
    if scope is None or scope == "unscoped":
        return None
    if not isinstance(scope, dict) or "project" not in scope:
        raise _v3_unauthorized()
    spec = scope["project"]
    project: Project | None = None
    if isinstance(spec, dict):
        if "id" in spec:
            project = state.projects.get(str(spec["id"]))
        elif "name" in spec and _in_domain(spec.get("domain")):
            project = state.project_by_name(str(spec["name"]))
    if project is None or project.id != user.project_id:
        raise _v3_unauthorized()
    return project


def _v3_tokens(state: State, settings: Settings, request: Request) -> Response:
    if request.method == "GET":
        token = _v3_validate_caller(state, request)
        return Response(
            200,
            _v3_token_body(state, settings, request, token),
            headers={"X-Subject-Token": token.id},
        )
    if request.method == "DELETE":
        token = _v3_validate_caller(state, request)
        del state.tokens[token.id]
        return Response(204, changed=True)
    require_method(request, "GET, POST, DELETE")
    try:
        body = request.json()
    except ApiError:
        raise _v3_error(400, "The request body is not valid JSON.") from None
    auth = _dig(body, "auth")
    user = _v3_user(state, _dig(auth, "identity"))
    project = _v3_scope(state, user, auth.get("scope"))
    methods = [m for m in _dig(auth, "identity", "methods") if m]
    token = state.issue_token(
        user, project.id if project else None, [str(m) for m in methods]
    )
    return Response(
        201,
        _v3_token_body(state, settings, request, token),
        headers={"X-Subject-Token": token.id},
        changed=True,
    )


def _v3_validate_caller(state: State, request: Request) -> Token:
    caller = request.header("X-Auth-Token")
    subject = request.header("X-Subject-Token")
    if not caller or state.valid_token(caller) is None:
        raise _v3_unauthorized()
    token = state.valid_token(subject) if subject else None
    if token is None:
        raise _v3_error(404, f"Could not find token: {subject}.")
    return token


def _v3_token_body(
    state: State, settings: Settings, request: Request, token: Token
) -> dict[str, Any]:
    user = state.users[token.user_id]
    domain = {"id": "default", "name": "Default"}
    body: dict[str, Any] = {
        "methods": token.methods,
        "user": {
            "id": user.id,
            "name": user.name,
            "domain": domain,
            "password_expires_at": None,
        },
        "audit_ids": [token.id[:22]],
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
    }
    if token.project_id is not None:
        project = state.projects[token.project_id]
        body["project"] = {
            "id": project.id,
            "name": project.name,
            "domain": domain,
        }
        body["is_domain"] = False
        body["roles"] = [{"id": "r-member", "name": "member"}]
        body["catalog"] = [
            {
                "id": f"svc-{kind}",
                "type": kind,
                "name": name,
                "endpoints": [
                    {
                        "id": f"ep-{kind}-{interface}",
                        "interface": interface,
                        "region": settings.region,
                        "region_id": settings.region,
                        "url": url,
                    }
                    for interface in ("public", "internal", "admin")
                ],
            }
            for kind, name, url in catalog_urls(request.base_url, project.id)
        ]
        add_second_region(
            body["catalog"], settings, request.base_url, project.id, v3=True
        )
        add_regions(
            body["catalog"], settings, request.base_url, project.id, v3=True
        )
    return {"token": body}


# ----- v2.0 -----------------------------------------------------------------


def _v2_error(status: int, message: str) -> ApiError:
    # Rackspace's v2.0 identity answers with Nova-style fault names.
    return ApiError(status, message)


# The v2.0 credentials a user name comes with, in the order they are
# looked for: (body key, secret's key, User attribute, 401 text, method).
V2_SECRETS = (
    (
        "RAX-KSKEY:apiKeyCredentials",
        "apiKey",
        "api_key",
        V2_BAD_CREDENTIALS,
        "APIKEY",
    ),
    (
        "passwordCredentials",
        "password",
        "password",
        V2_BAD_PASSWORD,
        "PASSWORD",
    ),
)


def _v2_user(state: State, auth: dict[str, Any]) -> tuple[User, str]:
    """The user the credentials name, and how they authenticated."""
    for kind, key, attribute, refusal, method in V2_SECRETS:
        if kind not in auth:
            continue
        spec = auth[kind]
        if not isinstance(spec, dict):
            raise _v2_error(400, "Invalid json request body")
        user = state.user_by_name(str(spec.get("username")))
        if user is None or spec.get(key) != getattr(user, attribute):
            raise _v2_error(401, refusal)
        return user, method
    if "token" in auth:
        spec = auth["token"]
        token_id = spec.get("id") if isinstance(spec, dict) else None
        token = state.valid_token(str(token_id)) if token_id else None
        if token is None:
            raise _v2_error(401, AUTH_REQUIRED)
        return state.users[token.user_id], "TOKEN"
    raise _v2_error(400, "Invalid json request body")


def _v2_tokens(state: State, settings: Settings, request: Request) -> Response:
    try:
        body = request.json()
    except ApiError:
        raise _v2_error(400, "Invalid json request body") from None
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict):
        raise _v2_error(400, "Invalid json request body")
    user, method = _v2_user(state, auth)
    # Rackspace scopes to the user's own tenant when none is named.
    project = state.projects[user.project_id]
    tenant_id, tenant_name = auth.get("tenantId"), auth.get("tenantName")
    if tenant_id not in (None, project.id) or tenant_name not in (
        None,
        project.name,
    ):
        raise _v2_error(
            401,
            f"Not authorized for tenant {tenant_id or ''}{tenant_name or ''}.",
        )
    token = state.issue_token(user, project.id, [method.lower()])
    return Response(
        200,
        _v2_access(state, settings, request, token, method),
        changed=True,
    )


def _v2_validate(
    state: State, settings: Settings, request: Request, token_id: str
) -> Response:
    caller = request.header("X-Auth-Token")
    if not caller or state.valid_token(caller) is None:
        raise _v2_error(401, AUTH_REQUIRED)
    token = state.valid_token(token_id)
    if token is None:
        raise not_found(f"Token not found: {token_id}")
    method = token.methods[0].upper() if token.methods else "PASSWORD"
    return Response(200, _v2_access(state, settings, request, token, method))


def _v2_access(
    state: State,
    settings: Settings,
    request: Request,
    token: Token,
    method: str,
) -> dict[str, Any]:
    user = state.users[token.user_id]
    assert token.project_id is not None
    project = state.projects[token.project_id]
    catalog = [
        {
            "type": kind,
            "name": name,
            "endpoints": [
                {
                    "id": f"ep-{kind}",
                    "region": settings.region,
                    "tenantId": project.id,
                    "publicURL": url,
                    "internalURL": url,
                    "adminURL": url,
                }
            ],
            "endpoints_links": [],
        }
        for kind, name, url in catalog_urls(request.base_url, project.id)
    ]
    add_second_region(
        catalog, settings, request.base_url, project.id, v3=False
    )
    add_regions(catalog, settings, request.base_url, project.id, v3=False)
    return {
        "access": {
            "token": {
                "id": token.id,
                "issued_at": token.issued_at,
                "expires": token.expires_at,
                "tenant": {
                    "id": project.id,
                    "name": project.name,
                    "enabled": True,
                },
                "RAX-AUTH:authenticatedBy": [method],
            },
            "serviceCatalog": catalog,
            "user": {
                "id": user.id,
                "name": user.name,
                "username": user.name,
                "roles": [{"id": "r-member", "name": "member"}],
                "RAX-AUTH:defaultRegion": settings.region,
            },
            "metadata": {"is_admin": 0, "roles": ["r-member"]},
        }
    }
