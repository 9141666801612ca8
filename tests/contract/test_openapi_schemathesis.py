"""schemathesis drives the façade from OpenAI's own OpenAPI description; every response must conform.

The gateway runs the offline `mock` provider under the model names the spec's examples use, so generated
requests reach real 200 responses. Error statuses (400/401/404/405) are correct behaviour that the spec does not
list (it documents only 200 and 429), so status-code conformance is not checked; everything else is.

Two known gaps in the spec are patched in a copy: with `encoding_format: "base64"` OpenAI returns the embedding
as a base64 string (which the SDK decodes), while the spec's Embedding schema allows only an array; and
`stream: true` on /completions answers `text/event-stream` (as /chat/completions documents), while the spec lists
only JSON there. Without the second patch the test failed whenever the time-bounded fuzzer happened to
generate a valid streaming completions request."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway import Gateway

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "openapi" / "openai-openapi.json"  # vendored, see its README
CHAT_MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-5", "o3-mini", "VAR_chat_model_id"]
COMPLETION_MODELS = ["gpt-3.5-turbo-instruct", "davinci-002", "babbage-002", "VAR_completion_model_id"]
EMBEDDING_MODELS = ["text-embedding-3-small", "text-embedding-ada-002", "text-embedding-3-large"]


def _mock(names: list[str], mode: str) -> dict[str, object]:
    return {
        "model_name": names[0],
        "litellm_params": {"model": f"mock/{names[0]}"},
        "model_info": {"mode": mode, "aliases": names[1:]},
    }


@pytest.fixture(scope="module")
def mock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    config = {
        "database_url": f"sqlite:///{workdir / 'aqueduct.db'}",
        "model_list": [
            _mock(CHAT_MODELS, "chat"),
            _mock(COMPLETION_MODELS, "completion"),
            _mock(EMBEDDING_MODELS, "embedding"),
        ],
    }
    gw = Gateway(config, workdir).start()
    try:
        yield gw
    finally:
        gw.stop()


# Negative mode sends requests that violate the spec (wrong types, missing required fields, bad enums, ...): each
# must get a client error in OpenAI's JSON shape, never a 5xx. `negative_data_rejection` (every such request
# refused) is not checked: the gateway passes range-checked sampling knobs and unknown keys on to the upstream,
# which judges them, as OpenAI-compatible proxies do (the mock provider accepts them).
MODES = {
    "all": "not_a_server_error,content_type_conformance,response_schema_conformance,response_headers_conformance",
    "negative": "not_a_server_error,content_type_conformance,response_headers_conformance",
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_facade_conforms_to_openai_spec(mock_gateway: Gateway, tmp_path: Path, mode: str) -> None:
    spec = json.loads(SPEC.read_text())  # part of the repository: a missing file fails the test
    vector = spec["components"]["schemas"]["Embedding"]["properties"]["embedding"]
    spec["components"]["schemas"]["Embedding"]["properties"]["embedding"] = {"anyOf": [vector, {"type": "string"}]}
    completions_200 = spec["paths"]["/completions"]["post"]["responses"]["200"]["content"]
    completions_200.setdefault("text/event-stream", {"schema": {}})  # events: checked by the SDK e2e tests
    patched = tmp_path / "openai-openapi.json"
    patched.write_text(json.dumps(spec))
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis CLI missing: make install"
    token = mock_gateway.create_user_token("spec", "spec@example.com")
    result = subprocess.run(
        [
            st,
            "run",
            str(patched),
            "-u",
            mock_gateway.v1,
            "--include-path-regex",
            "^/(models|chat/completions|completions|embeddings)$",
            "-H",
            f"Authorization: Bearer {token}",
            "--mode",
            mode,
            "--checks",
            MODES[mode],
            "--max-time",
            "40",
            "--seed",
            "20261126",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
