"""The optional LLM provider: the OpenAI-compatible chat-completions protocol, off by default.

OpenAI, Azure OpenAI, vLLM, llama.cpp's server and Ollama speak it. The operator chooses it
(AI_PROVIDER_URL, AI_PROVIDER_MODEL, AI_PROVIDER_KEY_FILE); nothing is sent anywhere unless
they do. The model receives only the context the offline engine retrieved for the question
(its composed answer and citations), never the caller's other objects; its reply is checked
by ``grounding.check`` before it is returned.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class ProviderError(Exception):
    """The provider did not give a usable completion (refused, failed, timed out, malformed)."""


@dataclass(frozen=True)
class Completion:
    """The model's text and the tokens it cost: the provider's ``usage`` when it reports it."""

    text: str
    tokens: int
    reported: bool = True  # False: ``tokens`` is our estimate (see ``estimate_tokens``)


def estimate_tokens(*texts: str) -> int:
    """About four characters a token (OpenAI's rule of thumb for English), rounded up."""
    return sum(-(-len(text) // 4) for text in texts)


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    """The estimate for a chat's prompt: its texts plus a few tokens of framing per message."""
    return estimate_tokens(*(m["content"] for m in messages)) + 4 * len(messages)


class ChatProvider(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def max_tokens(self) -> int:
        """The most a completion may use (sent as ``max_tokens``)."""
        ...

    async def complete(self, messages: list[dict[str, str]]) -> Completion: ...


@dataclass(frozen=True)
class OpenAICompatible:
    """POST {base_url}/chat/completions with a bearer key; temperature 0."""

    base_url: str
    model: str
    key: str = ""
    timeout: float = 20.0
    name: str = "openai-compatible"
    max_tokens: int = 800

    def _post(self, body: bytes) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the operator's configured URL (http or https)
            self.base_url.rstrip("/") + "/chat/completions",
            data=body,
            method="POST",
            headers={"content-type": "application/json", "accept": "application/json"}
            | ({"authorization": f"Bearer {self.key}"} if self.key else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return bytes(response.read(1_000_000))
        except urllib.error.HTTPError as error:
            raise ProviderError(f"provider answered HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ProviderError(f"provider unreachable: {type(error).__name__}") from error

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        body = json.dumps(
            {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens}
        ).encode()
        raw = await asyncio.to_thread(self._post, body)
        try:
            reply = json.loads(raw)
            content = reply["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ProviderError("provider reply is not a chat completion") from error
        if not isinstance(content, str) or not content.strip():
            raise ProviderError("provider reply is empty")
        usage = reply.get("usage") if isinstance(reply, dict) else None
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and total > 0:
            return Completion(content, total)
        return Completion(content, prompt_tokens(messages) + estimate_tokens(content), reported=False)


def configured(url: str, model: str, key_file: Path | None, timeout: float) -> OpenAICompatible | None:
    """The provider the operator configured, or None (the default: offline only)."""
    if not url:
        return None
    if not model:
        raise SystemExit("AI_PROVIDER_MODEL is required when AI_PROVIDER_URL is set")
    key = key_file.read_text(encoding="utf-8").strip() if key_file is not None else ""
    return OpenAICompatible(url, model, key, timeout)
