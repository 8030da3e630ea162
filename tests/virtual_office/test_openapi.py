"""The OpenAPI schema tells the truth about refusals and input: every endpoint that can answer 400
documents it with both shapes (`{detail, code}` and DRF field errors), and the inputs carry the
constraints the server enforces (lengths, ranges, enums, required), which the server then applies."""

import jsonschema
import pytest
from referencing import Registry, Resource

from tests.factories import group_with, post

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
MAX_ID = 2**63 - 1


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def component(schema, name):
    return schema["components"]["schemas"][name]


def response_validator(schema, path: str, method: str, status: int):
    """A jsonschema validator for that documented response (refs resolved against the document)."""
    documented = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]

    def absolute(node):  # "#/components/..." -> "urn:openapi#/components/..."
        if isinstance(node, dict):
            return {k: (f"urn:openapi{v}" if k == "$ref" else absolute(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [absolute(item) for item in node]
        return node

    registry = Registry().with_resource("urn:openapi", Resource.opaque(absolute(schema)))
    return jsonschema.Draft202012Validator(absolute(documented), registry=registry)


# --- every endpoint that can answer 400 documents it ----------------------------------------------


def test_the_400_shape_is_detail_and_code_or_field_errors(schema):
    one_of = {ref["$ref"].rsplit("/", 1)[1] for ref in component(schema, "BadRequestOut")["oneOf"]}
    assert one_of == {"ErrorOut", "FieldErrorsOut"}
    assert component(schema, "ErrorOut")["required"] == ["code", "detail"]
    field_errors = component(schema, "FieldErrorsOut")
    assert field_errors["type"] == "object" and field_errors["additionalProperties"]


def test_every_operation_that_can_answer_400_documents_it(schema):
    missing = []
    for path, method, operation in operations(schema):
        has_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
        # A session POST runs the CSRF check, which reads the form: an unreadable one is a 400 anywhere.
        session_post = method == "post" and {"cookieAuth": []} in operation.get("security", [])
        if has_input or session_post:
            documented = operation["responses"].get("400", {}).get("content", {}).get("application/json", {})
            if not documented.get("schema", {}).get("$ref", "").endswith("/BadRequestOut"):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_bodies_and_session_writes_document_their_shared_refusals(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (method, path)
        if method in WRITES and {"cookieAuth": []} in operation.get("security", []):
            assert "403" in responses, (method, path)  # a session write without its CSRF token


def test_real_400s_match_the_documented_schema(schema, api, alice, bob):
    conversation = group_with(alice, bob)
    message = post(conversation, alice)
    client = api(alice)
    cases = [
        # DRF field errors, plain and nested (a list field's item)
        ("/api/v1/conversations/", "post", {"participants": ["x"]}),
        ("/api/v1/conversations/", "post", {}),
        (f"/api/v1/messages/{message.id}/", "patch", {}),
        ("/api/v1/presence/", "put", {"status": "offline"}),
        # {detail, code}
        (f"/api/v1/conversations/{conversation.id}/messages/", "post", {"body": ""}),
        ("/api/v1/conversations/", "post", ["not", "an", "object"]),
    ]
    for path, method, body in cases:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 400, (path, body, response.content)
        template = path.replace(str(conversation.id), "{conversation_id}").replace(str(message.id), "{message_id}")
        validator = response_validator(schema, template, method, 400)
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert errors == [], (path, body, response.json(), errors)


# --- inputs carry their constraints -----------------------------------------------------------------


def test_request_components_carry_lengths_ranges_enums_and_required(schema):
    text = component(schema, "MessageTextInRequest")["properties"]
    assert text["body"]["maxLength"] == 10_000
    assert text["client_id"]["maxLength"] == 64
    assert (text["reply_to"]["minimum"], text["reply_to"]["maximum"]) == (1, MAX_ID)
    upload = component(schema, "MessageInRequest")["properties"]["attachments"]
    assert upload["maxItems"] == 5 and upload["items"]["format"] == "binary"
    assert "attachments" not in text  # files come only as multipart

    edit = component(schema, "MessageEditInRequest")  # PATCH messages/{id}/: the body is required
    assert edit["required"] == ["body"]
    assert "PatchedMessageEditInRequest" not in schema["components"]["schemas"]
    space_patch = component(schema, "PatchedSpaceInRequest")  # PATCH spaces/{id}/ is partial
    assert "required" not in space_patch

    space = component(schema, "SpaceInRequest")
    assert space["required"] == ["name"]
    assert space["properties"]["name"]["maxLength"] == 80
    assert (space["properties"]["capacity"]["minimum"], space["properties"]["capacity"]["maximum"]) == (1, 500)
    assert space["properties"]["x"]["minimum"] == 0

    group = component(schema, "GroupInRequest")
    assert group["required"] == ["participants"] and group["properties"]["participants"]["minItems"] == 1
    assert group["properties"]["participants"]["items"]["minimum"] == 1
    assert component(schema, "ReadInRequest")["properties"]["seq"]["minimum"] == 0
    assert component(schema, "ReactionInRequest")["properties"]["emoji"]["maxLength"] == 32
    for name, field in [("CallInRequest", "callee"), ("TeleportInRequest", "invitee"), ("DirectInRequest", "user"),
                        ("RemoveInRequest", "user")]:
        assert component(schema, name)["properties"][field]["minimum"] == 1, name

    assert component(schema, "PresenceStatusEnum")["enum"] == ["online", "away", "busy", "dnd"]
    assert component(schema, "EffectiveStatusEnum")["enum"] == ["online", "away", "busy", "dnd", "offline"]
    assert component(schema, "CallKindEnum")["enum"] == ["voice", "video"]


def test_query_and_path_parameters_carry_their_ranges(schema):
    def parameters(path, method="get"):
        return {p["name"]: p["schema"] for p in schema["paths"][path][method].get("parameters", [])}

    messages = parameters("/api/v1/conversations/{conversation_id}/messages/")
    assert (messages["limit"]["minimum"], messages["limit"]["maximum"], messages["limit"]["default"]) == (1, 100, 50)
    assert messages["before"]["minimum"] == 0 and messages["after"]["minimum"] == 0
    assert parameters("/api/v1/conversations/{conversation_id}/changes/")["since_rev"]["minimum"] == 0
    calls = parameters("/api/v1/calls/")
    assert (calls["limit"]["minimum"], calls["limit"]["maximum"]) == (1, 100) and calls["before"]["minimum"] == 1
    emoji = parameters("/api/v1/messages/{message_id}/reactions/{emoji}/", "delete")["emoji"]
    assert emoji["maxLength"] == 32


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/calls/", {"callee": MAX_ID + 1, "kind": "voice"}, "callee"),
        ("/api/v1/calls/", {"callee": 0, "kind": "voice"}, "callee"),
        ("/api/v1/teleports/", {"invitee": 2, "space": -1}, "space"),
        ("/api/v1/conversations/direct/", {"user": MAX_ID + 1}, "user"),
        ("/api/v1/conversations/", {"participants": [0]}, "participants"),
        ("/api/v1/conversations/{conversation_id}/messages/", {"body": "hi", "reply_to": MAX_ID + 1}, "reply_to"),
        ("/api/v1/conversations/{conversation_id}/read/", {"seq": MAX_ID + 1}, "seq"),
    ],
)
def test_the_server_enforces_the_documented_ranges(api, alice, bob, path, body, field):
    conversation = group_with(alice, bob)
    response = api(alice).post(path.format(conversation_id=conversation.id), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
