"""/v1/files through the official SDK (and raw HTTP where the SDK cannot express the request): upload, list,
retrieve, content, delete, every user-causable error, and ownership (another tenant gets 404)."""

from __future__ import annotations

import uuid

import httpx2
import openai
import pytest

from tests.integration.batches.conftest import client, new_user, service_account_token, upload
from tests.support.gateway import Gateway

MAX_FILE = 4 * 1024 * 1024  # the module gateway's max_file_bytes


@pytest.mark.parametrize("v1", [True, False])
def test_upload_list_retrieve_content_delete(gateway: Gateway, user_token: str, v1: bool) -> None:
    sdk = client(gateway, user_token, v1=v1)
    data = bytes(range(256)) * 9000  # > 2 MiB: several chunks each way
    created = upload(sdk, data, purpose="user_data", name="dir/data.bin")
    assert created.object == "file" and created.bytes == len(data)
    assert created.filename == "data.bin" and created.purpose == "user_data" and created.expires_at is None
    assert sdk.files.retrieve(created.id).model_dump() == created.model_dump()
    assert sdk.files.content(created.id).content == data
    other = upload(sdk, b'{"a": 1}\n', purpose="batch")
    listed = sdk.files.list()
    assert [f.id for f in listed.data][:2] == [other.id, created.id]  # newest first
    assert [f.id for f in sdk.files.list(purpose="batch").data] == [other.id]
    assert [f.id for f in sdk.files.list(order="asc").data] == [created.id, other.id]
    page = sdk.files.list(limit=1)
    assert [f.id for f in page.data] == [other.id] and page.has_more
    assert [f.id for f in sdk.files.list(limit=1, after=other.id).data] == [created.id]
    deleted = sdk.files.delete(created.id)
    assert deleted.deleted and deleted.id == created.id
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(created.id)


def test_expires_after(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    made = sdk.files.create(
        file=("x.jsonl", b"{}\n"), purpose="batch", expires_after={"anchor": "created_at", "seconds": 7200}
    )
    assert made.expires_at == made.created_at + 7200


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"purpose": "nonsense"}, "purpose"),
        ({"purpose": "batch_output"}, "purpose"),
        ({"purpose": "batch", "expires_after": {"anchor": "created_at", "seconds": 10}}, "expires_after[seconds]"),
        ({"purpose": "batch", "expires_after": {"anchor": "last_active_at", "seconds": 7200}}, "expires_after[anchor]"),
    ],
)
def test_bad_upload_fields(gateway: Gateway, user_token: str, kwargs: dict, param: str) -> None:
    sdk = client(gateway, user_token)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("x.jsonl", b"{}\n"), **kwargs)
    assert caught.value.body["param"] == param  # type: ignore[index]


def _post(gateway: Gateway, token: str, headers: dict[str, str] | None = None, **kwargs: object) -> httpx2.Response:
    return httpx2.post(  # type: ignore[call-overload, no-any-return]
        gateway.v1 + "/files", headers={"authorization": f"Bearer {token}", **(headers or {})}, timeout=30, **kwargs
    )


def test_missing_parts_and_wrong_content_type(gateway: Gateway, user_token: str) -> None:
    no_file = _post(gateway, user_token, data={"purpose": "batch"}, files={"other": ("a", b"x")})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    no_purpose = _post(gateway, user_token, files={"file": ("a.jsonl", b"{}\n")})
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"
    as_json = _post(gateway, user_token, json={"purpose": "batch"})
    assert as_json.status_code == 400 and "multipart" in as_json.json()["error"]["message"]
    unauthenticated = httpx2.post(gateway.v1 + "/files", files={"file": ("a", b"x")}, data={"purpose": "batch"})
    assert unauthenticated.status_code == 401


def test_file_part_before_purpose_is_spooled(gateway: Gateway, user_token: str) -> None:
    boundary = "b0und4ry"
    data = b"z" * (3 * 1024 * 1024)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="late.bin"\r\n\r\n'.encode()
        + data
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'.encode()
        + f"user_data\r\n--{boundary}--\r\n".encode()
    )
    answer = _post(
        gateway, user_token, content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert answer.status_code == 200, answer.text
    assert client(gateway, user_token).files.content(answer.json()["id"]).content == data


def test_too_large_by_content_length_and_while_streaming(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    with pytest.raises(openai.APIStatusError) as caught:
        upload(sdk, b"x" * (MAX_FILE + 200_000), purpose="user_data")
    assert caught.value.status_code == 413

    boundary = "streamed"

    def chunked():  # no Content-Length: the limit is found while the body arrives
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n'.encode()
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'.encode()
        for _ in range(MAX_FILE // 65536 + 2):
            yield b"y" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = _post(
        gateway,
        user_token,
        content=chunked(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "request_too_large"
    assert all(f.filename != "big" for f in sdk.files.list().data)


def test_other_tenant_gets_404_everywhere(gateway: Gateway, user_token: str) -> None:
    owner = client(gateway, user_token)
    made = upload(owner, b'{"x": 1}\n')
    for org in ("files", f"other{uuid.uuid4().hex[:6]}"):  # same org, and another org
        stranger = client(gateway, new_user(gateway, org))
        with pytest.raises(openai.NotFoundError):
            stranger.files.retrieve(made.id)
        with pytest.raises(openai.NotFoundError):
            stranger.files.content(made.id)
        with pytest.raises(openai.NotFoundError):
            stranger.files.delete(made.id)
        with pytest.raises(openai.NotFoundError):
            stranger.batches.create(input_file_id=made.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert made.id not in [f.id for f in stranger.files.list().data]
    assert owner.files.retrieve(made.id).id == made.id


def test_service_account_files_belong_to_its_team(gateway: Gateway) -> None:
    org = f"sa{uuid.uuid4().hex[:6]}"
    email = f"owner{uuid.uuid4().hex[:6]}@example.com"
    person = gateway.create_user_token(org, email)
    first = client(gateway, service_account_token(gateway, org, "team-a", email, "bot-1"))
    second = client(gateway, service_account_token(gateway, org, "team-a", email, "bot-2"))
    elsewhere = client(gateway, service_account_token(gateway, org, "team-b", email, "bot-3"))
    made = upload(first, b"{}\n", purpose="user_data")
    assert second.files.retrieve(made.id).id == made.id  # the team's file
    for other in (elsewhere, client(gateway, person)):
        with pytest.raises(openai.NotFoundError):
            other.files.retrieve(made.id)
