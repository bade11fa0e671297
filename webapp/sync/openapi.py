"""The OpenAPI 3.1 description of the sync API (DESIGN.md §5), served at /api/v1/openapi.json.

tests/integration/test_sync_api.py keeps it true: every /api/v1 route is here with its methods
and nothing else is (except operations marked `x-planned`; none are now), and real answers of
push, pull and me validate against the response schemas below.
"""

from __future__ import annotations

from typing import Any

from webapp.ops import OP_TYPES
from webapp.sync.dispatch import REGISTER_CHANGE_TYPES, STATUSES, UPDATE_TYPES
from webapp.sync.entities import ENTITIES
from webapp.sync.pull import DEFAULT_LIMIT, MAX_LIMIT
from webapp.sync.push import MAX_BODY_BYTES, MAX_DEVICE_ID_LENGTH, MAX_OPS
from webapp.sync.schemas import payload_component_schemas


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
UUID = {"type": "string", "format": "uuid"}
IDS = {"type": "array", "items": INTEGER}
CODES = {"type": "array", "items": STRING}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


_RECORD_COMMON = {
    "grid_id": INTEGER,
    "author_id": INTEGER,
    "received_at": TIME,
    "corrects_id": _nullable(UUID),
    "photo_ids": CODES,
}

ENTITY_DATA: dict[str, dict[str, Any]] = {
    "grid": _object(
        {
            "code": STRING,
            "name": STRING,
            "community_id": INTEGER,
            "community": STRING,
            "boundary": STRING,
        }
    ),
    "building": _object(
        {
            "grid_id": INTEGER,
            "name": STRING,
            "address": STRING,
            "unit_count": INTEGER,
            "floor_count": INTEGER,
        }
    ),
    "household": _object(
        {
            "grid_id": INTEGER,
            "building_id": INTEGER,
            "unit": INTEGER,
            "room": STRING,
            "address": STRING,
            "contact_phone": {
                **STRING,
                "description": "as the masking table shows this user (webapp/privacy.py): "
                "full for the grid's worker, else masked 139****5678",
            },
            "occupancy": {"enum": ["occupied", "vacant", "rented_out", "moved_out"]},
            "dilapidated": {**BOOLEAN, "description": "危房改造户"},
            "client_uuid": _nullable(UUID),
        }
    ),
    "resident": _object(
        {
            "grid_id": INTEGER,
            "household_id": INTEGER,
            "name": {
                **STRING,
                "description": "full for the grid's worker and community staff, else 张*明",
            },
            "gender": STRING,
            "age": INTEGER,
            "flags": {**CODES, "description": "care flags, age_80_plus and minor derived"},
            "relation": STRING,
            "moved_out": BOOLEAN,
            "status": {"enum": ["active", "moved_out", "deceased"]},
            "client_uuid": _nullable(UUID),
            "phone": {
                **STRING,
                "description": "full for the grid's worker, else masked 138****5678",
            },
            "id_number": {**STRING, "description": "always masked: 1101**********1234"},
        }
    ),
    "visit": _object(
        {
            **_RECORD_COMMON,
            "household_id": INTEGER,
            "visited_at": TIME,
            "visit_kind": STRING,
            "present_resident_ids": IDS,
            "needs": CODES,
        }
    ),
    "dispute": _object(
        {
            **_RECORD_COMMON,
            "household_id": _nullable(INTEGER),
            "place": STRING,
            "category": STRING,
            "parties": {
                "type": "array",
                "items": _object(
                    {"name": STRING, "role": STRING, "resident_id": _nullable(INTEGER)},
                    required=["name", "role"],
                ),
            },
            "summary": STRING,
            "severity": STRING,
            "resolved_on_site": BOOLEAN,
        }
    ),
    "elderly_check": _object(
        {
            **_RECORD_COMMON,
            "resident_id": INTEGER,
            "checked_at": TIME,
            "method": STRING,
            "status": {"enum": ["ok", "concern", "needs_help", "not_reached"]},
            "needs": CODES,
        }
    ),
    "hazard": _object(
        {
            **_RECORD_COMMON,
            "building_id": _nullable(INTEGER),
            "place": STRING,
            "location": _nullable({"type": "object"}),
            "category": STRING,
            "severity": STRING,
            "description": STRING,
            "fixed_on_site": BOOLEAN,
        }
    ),
    "case": _object(
        {
            "number": STRING,
            "title": STRING,
            "category": STRING,
            "severity": STRING,
            "status": {"enum": ["open", "escalated", "accepted", "resolved", "closed"]},
            "level": {"enum": ["grid", "community", "street"]},
            "home_grid_id": INTEGER,
            "source_kind": STRING,
            "source_record_id": _nullable(UUID),
            "household_id": _nullable(INTEGER),
            "resident_id": _nullable(INTEGER),
            "assigned_department": STRING,
            "opened_at": TIME,
            "stage_started_at": TIME,
            "warn_at": _nullable({**TIME, "description": "yellow from here (pauses included)"}),
            "due_at": _nullable({**TIME, "description": "red from here (pauses included)"}),
            "paused": BOOLEAN,
            "supervised": BOOLEAN,
            "supervise_deadline": _nullable(TIME),
            "resolved_at": _nullable(TIME),
            "closed_at": _nullable(TIME),
        }
    ),
    "care_task": _object(
        {
            "resident_id": INTEGER,
            "household_id": INTEGER,
            "grid_id": INTEGER,
            "address": STRING,
            "flags": CODES,
            "interval_days": INTEGER,
            "last_checked_on": _nullable(DAY),
            "due_on": DAY,
            "days_overdue": INTEGER,
        }
    ),
    "notice": _object(
        {
            "street_id": INTEGER,
            "community_ids": IDS,
            "title": STRING,
            "body": STRING,
            "category": STRING,
            "publish_at": _nullable(TIME),
            "period_start": _nullable(DAY),
            "period_end": _nullable(DAY),
        }
    ),
    # A resident's report to check on the spot (webapp/residents); verified with report.verify.
    "report": _object(
        {
            "number": {**STRING, "description": "the tracking number the resident holds"},
            "kind": {"enum": ["report", "suggestion"]},
            "source": {"enum": ["public", "phone", "hotline_12345", "petition", "open311"]},
            "category": STRING,
            "grid_id": INTEGER,
            "building_id": _nullable(INTEGER),
            "place": STRING,
            "description": STRING,
            "location": _nullable({"type": "object"}),
            "contact_name": {**STRING, "description": "masked per the viewer (DESIGN.md §7)"},
            "contact_phone": {
                **STRING,
                "description": "in full only for the grid's own worker; masked otherwise",
            },
            "status": {"enum": ["new", "settled", "case", "not_found", "duplicate", "spam"]},
            "case_id": _nullable(UUID),
            "received_at": TIME,
            "verified_at": _nullable(TIME),
            "photo_count": INTEGER,
        }
    ),
}

# Op payloads: pydantic models where registered (webapp/sync/schemas.py), else any object.
PAYLOAD_NAMES, PAYLOAD_COMPONENTS = payload_component_schemas()


def _camel(op_type: str) -> str:
    return "".join(part.capitalize() for part in op_type.replace(".", "_").split("_"))


def _op_component(op_type: str) -> str:
    return f"{_camel(op_type)}Op"


def _payload_schema(op_type: str) -> dict[str, Any]:
    if op_type in PAYLOAD_NAMES:
        return _ref(PAYLOAD_NAMES[op_type])
    return {"type": "object"}


def _op_variant(op_type: str) -> dict[str, Any]:
    # Updates and register changes name an existing row by its id and carry the version seen.
    updates = op_type in UPDATE_TYPES or op_type in REGISTER_CHANGE_TYPES
    return _object(
        {
            "op_id": UUID,
            "type": {"const": op_type},
            "record_id": (
                {**INTEGER, "description": "the id of the row to update"}
                if updates
                else {"anyOf": [UUID, INTEGER], "description": "a client-made UUID"}
            ),
            "client_time": TIME,
            "base_version": {**INTEGER, "description": "updates only: the version the user saw"},
            "payload": _payload_schema(op_type),
        },
        required=["op_id", "type", "record_id", "client_time", "payload"]
        + (["base_version"] if updates else []),
    )


ERROR_DETAIL = _object(
    {
        "code": STRING,
        "message": STRING,
        "fields": {"type": "object", "additionalProperties": STRING},
    },
    required=["code", "message"],
)

SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": ERROR_DETAIL}),
    "Op": {
        "description": (
            "one write from the outbox; `payload` follows the schema of its `type` "
            "(webapp/sync/schemas.py)"
        ),
        "anyOf": [_ref(_op_component(op_type)) for op_type in OP_TYPES],
    },
    **{_op_component(op_type): _op_variant(op_type) for op_type in OP_TYPES},
    **PAYLOAD_COMPONENTS,
    "PushRequest": _object(
        {
            "device_id": {**STRING, "minLength": 1, "maxLength": MAX_DEVICE_ID_LENGTH},
            "ops": {"type": "array", "items": _ref("Op"), "maxItems": MAX_OPS},
        }
    ),
    "OpResult": _object(
        {
            "op_id": _nullable(STRING),
            "status": {
                "enum": list(STATUSES),
                "description": (
                    "applied; duplicate (same op_id and body seen before: the first result "
                    "again); conflict (stale base_version, or a case action that no longer "
                    "applies: `current` is the server's copy); rejected (invalid, out of scope, "
                    "unknown type, malformed, or op_id_reused); quarantined (written for a grid "
                    "the user no longer holds: kept for staff review, not applied)"
                ),
            },
            "record_id": {"anyOf": [STRING, INTEGER, {"type": "null"}]},
            "version": _nullable(INTEGER),
            "error": _nullable(ERROR_DETAIL),
            "current": _nullable({"type": "object"}),
            "household": {
                **_object({"id": INTEGER, "grid_id": INTEGER}),
                "description": "household.create: the server's id of the new household",
            },
            "resident": {
                **_object(
                    {"id": INTEGER, "household_id": INTEGER, "grid_id": INTEGER, "status": STRING},
                    required=["id"],
                ),
                "description": "resident.create / move_out / deceased / transfer: where they are",
            },
            "duplicates": {
                "type": "array",
                "items": _object(
                    {
                        "resident_id": INTEGER,
                        "household_id": INTEGER,
                        "grid_id": INTEGER,
                        "reason": {"enum": ["id_number", "name_and_birth_date"]},
                        "name": {**STRING, "description": "masked"},
                        "address": STRING,
                        "status": STRING,
                    }
                ),
                "description": "resident.create: residents in scope who may be the same person",
            },
            "case": {
                **_object(
                    {"id": UUID, "number": STRING, "status": STRING, "level": STRING},
                    required=["id"],
                ),
                "description": (
                    "applied or duplicate only: the case a record opened (id, number) or the "
                    "case an action moved (id, status, level)"
                ),
            },
        },
        required=["op_id", "status", "record_id", "version", "error", "current"],
    ),
    "PushResponse": _object({"results": {"type": "array", "items": _ref("OpResult")}}),
    "Change": {
        **_object(
            {
                "entity": {"enum": list(ENTITIES)},
                "id": {"anyOf": [INTEGER, STRING]},
                "version": _nullable(INTEGER),
                "deleted": BOOLEAN,
                "data": _nullable({"type": "object"}),
            }
        ),
        "allOf": [
            {
                "if": {
                    "properties": {"entity": {"const": entity}, "deleted": {"const": False}},
                },
                "then": {"properties": {"data": _ref(f"{entity}_data")}},
            }
            for entity in ENTITIES
        ]
        + [
            {
                "if": {"properties": {"deleted": {"const": True}}},
                "then": {"properties": {"data": {"type": "null"}}},
            }
        ],
    },
    **{f"{entity}_data": schema for entity, schema in ENTITY_DATA.items()},
    "PullResponse": _object(
        {
            "changes": {"type": "array", "items": _ref("Change")},
            "next_cursor": {
                **STRING,
                "description": "opaque; send it back as `cursor` to get what changed since",
            },
            "has_more": BOOLEAN,
        }
    ),
    "Me": _object(
        {
            "user": _object({"id": INTEGER, "username": STRING, "display_name": STRING}),
            "roles": {
                "type": "array",
                "items": {"enum": ["grid_worker", "community_staff", "street_staff", "admin"]},
            },
            "grids": {
                "type": "array",
                "items": _object({"id": INTEGER, "name": STRING, "community": STRING}),
            },
            "server_time": TIME,
        }
    ),
    "Attachment": _object(
        {
            "id": UUID,
            "content_type": STRING,
            "width": INTEGER,
            "height": INTEGER,
            "byte_size": INTEGER,
            "url": STRING,
        }
    ),
    "PushSubscription": _object(
        {
            "endpoint": {**STRING, "format": "uri"},
            "keys": _object({"p256dh": STRING, "auth": STRING}),
            "topics": {
                "type": "array",
                "items": STRING,
                "description": "anonymous residents: `community:<id>` only",
            },
        },
        required=["endpoint", "keys"],
    ),
    "PushUnsubscription": _object(
        {"endpoint": {**STRING, "format": "uri"}, "topics": CODES}, required=["endpoint"]
    ),
    "PushKey": _object({"public_key": STRING}),
    "PushTopics": _object({"topics": CODES}),
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(schema)}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json("Error")}


GUARD_RESPONSES = {
    "400": _error("missing X-GridRounds-Client header, or a malformed request"),
    "401": _error("not signed in (never a redirect): keep the outbox, ask for a login"),
    "403": _error("cross-origin request"),
}

CLIENT_HEADER = {
    "name": "X-GridRounds-Client",
    "in": "header",
    "required": True,
    "schema": {"const": "1"},
}


def _operation(summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [{"$ref": "#/components/parameters/ClientHeader"}]
        + extra.pop("parameters", []),
        "responses": {**responses, **GUARD_RESPONSES},
        **extra,
    }


PATHS: dict[str, Any] = {
    "/api/v1/sync/push": {
        "post": _operation(
            "Apply a batch of ops from the outbox",
            {
                "200": {
                    "description": "one result per op, in the ops' order, after the commit",
                    "content": _json("PushResponse"),
                },
                "413": _error(f"more than {MAX_OPS} ops or {MAX_BODY_BYTES // 2**20} MB"),
                "503": _error("database busy: nothing was acknowledged, retry (Retry-After)"),
            },
            operationId="syncPush",
            requestBody={"required": True, "content": _json("PushRequest")},
        )
    },
    "/api/v1/sync/pull": {
        "get": _operation(
            "Everything in scope (empty cursor), or what changed since a cursor",
            {
                "200": {
                    "description": (
                        "a page of changes. gzip-encoded when the request accepts gzip. Repeat "
                        "with next_cursor while has_more is true; keep next_cursor for next time."
                    ),
                    "content": _json("PullResponse"),
                },
            },
            operationId="syncPull",
            parameters=[
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "schema": STRING,
                    "description": (
                        "next_cursor of the previous pull; empty for a full snapshot. A 400 "
                        "`bad_cursor` means: discard local data and pull again without a cursor."
                    ),
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
            ],
        )
    },
    "/api/v1/attachments/{attachment_id}": {
        "put": _operation(
            "Upload a photo under a client-made id (idempotent)",
            {
                "201": {"description": "stored", "content": _json("Attachment")},
                "200": {"description": "already stored", "content": _json("Attachment")},
                "404": _error("grid_id is not in the user's scope"),
                "413": _error("too large"),
                "422": _error("not a JPEG, PNG or WebP photo, or too many pixels"),
            },
            operationId="putAttachment",
            parameters=[
                {"name": "attachment_id", "in": "path", "required": True, "schema": UUID},
                {"name": "grid_id", "in": "query", "required": False, "schema": INTEGER},
            ],
            requestBody={
                "required": True,
                "content": {
                    kind: {"schema": {"type": "string", "contentMediaType": kind}}
                    for kind in ("image/jpeg", "image/png", "image/webp")
                },
            },
        )
    },
    "/api/v1/me": {
        "get": _operation(
            "The signed-in user, their roles and grids, and the server's clock",
            {"200": {"description": "who the phone talks as", "content": _json("Me")}},
            operationId="me",
        )
    },
    "/api/v1/openapi.json": {
        "get": _operation(
            "This document",
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            operationId="openapi",
        )
    },
    "/api/v1/push/key": {
        "get": {
            "summary": "The server's VAPID public key (applicationServerKey)",
            "operationId": "pushKey",
            "security": [],
            "responses": {
                "200": {"description": "base64url P-256 point", "content": _json("PushKey")},
                "503": _error("`flask push keys` has not been run"),
            },
        }
    },
    "/api/v1/push/subscriptions": {
        "post": {
            **_operation(
                "Subscribe a browser to Web Push topics",
                {
                    "201": {"description": "subscribed", "content": _json("PushTopics")},
                    "200": {"description": "updated", "content": _json("PushTopics")},
                    "422": _error("bad endpoint, keys or topics; unknown community"),
                },
                operationId="subscribePush",
                requestBody={"required": True, "content": _json("PushSubscription")},
            ),
            "security": [{}, {"session": []}],
            "description": "Anonymous residents may subscribe to `community:<id>` notices only;"
            " a signed-in user also gets `user:<id>` (their alerts). Any other user's topic, or"
            " `user:` without signing in, is 403 `topic_refused`.",
        },
        "delete": {
            **_operation(
                "Unsubscribe a browser (from some topics, or entirely)",
                {
                    "204": {"description": "unsubscribed"},
                    "422": _error("bad endpoint"),
                },
                operationId="unsubscribePush",
                requestBody={"required": True, "content": _json("PushUnsubscription")},
            ),
            "security": [{}, {"session": []}],
        },
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GridRounds sync API",
            "version": "1",
            "description": (
                "JSON over the session cookie. Every request carries X-GridRounds-Client: 1; a "
                "foreign Origin gets 403; no session gets 401 JSON, never a redirect."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": {"ClientHeader": CLIENT_HEADER},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "gridrounds"},
            },
        },
        "security": [{"session": []}],
    }
