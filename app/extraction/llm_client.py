"""A small client for an OpenAI-compatible `/v1/chat/completions` endpoint (the `llm` engine's).

Every call is bounded: at most `max_retries + 1` attempts, each within `timeout_seconds`, with a
backoff between them (0.5, 1, 2 ... s, capped at 8), and all of it within one deadline, waits for
a free slot included. A process-wide semaphore holds the calls in flight to `concurrency` (one
per concurrency value, shared by every client of the process), so worker threads and concurrent
requests cannot flood a slow endpoint. Timeouts, connection errors, 408, 429, 5xx and answers the
caller's `parse` refuses (malformed JSON, wrong shape) are retried; other 4xx (a wrong key, model
or URL) are not. What is left after the retries is raised as an `LLMError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
import orjson
from prometheus_client import Counter

from app.extraction.types import ExtractionError

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an answer larger than this is not a stance list: refused
BACKOFF_CAP_SECONDS = 8.0
RETRIED_STATUSES = frozenset({408, 425, 429})

REQUESTS = Counter(
    "stanceline_llm_requests",
    "Requests to the LLM endpoint, by outcome: ok, malformed (an answer that is not the JSON asked "
    "for), timeout, connection_error, http_error (retried status), refused (another 4xx)",
    ["outcome"],
)


class LLMError(ExtractionError):
    """The endpoint gave no usable answer within the bounds."""


class LLMUnavailable(LLMError):
    """Timeouts, connection errors, 5xx or no free slot until the deadline."""


class LLMMalformed(LLMError):
    """Every attempt got an answer that was not the JSON asked for."""


class LLMRefused(LLMError):
    """A 4xx that retrying does not mend (a wrong key, model or URL; a text over the context)."""


class MalformedAnswer(ValueError):
    """Raised by a `parse` function: the answer is not what was asked for (retried)."""


def endpoint(url: str) -> str:
    """The chat completions URL of a base URL (`http://host:8080`, `.../v1`) or of the full one."""
    url = url.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def slots(concurrency: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of `concurrency` slots."""
    with _slots_lock:
        semaphore = _slots.get(concurrency)
        if semaphore is None:
            semaphore = _slots[concurrency] = threading.BoundedSemaphore(concurrency)
        return semaphore


def budget_seconds(timeout_seconds: float, max_retries: int, backoff_seconds: float) -> float:
    """The longest a `complete` call may take: every attempt's timeout plus the waits between."""
    waits = sum(min(BACKOFF_CAP_SECONDS, backoff_seconds * 2.0**i) for i in range(max_retries))
    return timeout_seconds * (max_retries + 1) + waits


class _Retry(Exception):
    """One attempt failed in a way worth another."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def message_content(body: bytes) -> str:
    """The first choice's message content of a chat completion body."""
    try:
        data = orjson.loads(body)
        content = data["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as error:
        raise MalformedAnswer(f"not a chat completion: {error!r}"[:200]) from error
    if not isinstance(content, str):
        raise MalformedAnswer("the message content is not a string")
    return content


class ChatClient:
    """Chat completions with JSON answers, bounded in time, retries and concurrency."""

    def __init__(
        self,
        *,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout_seconds: float = 60.0,
        max_retries: int = 2,
        concurrency: int = 2,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = endpoint(url)
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._slots = slots(concurrency)
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # no idle connections kept: an answer takes seconds, a new connection milliseconds, and an
        # extractor dropped from its cache (a registry revision later) leaves no socket open
        self._http = httpx.Client(
            headers=headers,
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._http.close()

    def complete(self, messages: Sequence[Mapping[str, str]], *, parse: Callable[[str], T]) -> tuple[str, T]:
        """The answer's content and `parse(content)`. Raises an `LLMError` once the attempts or the
        deadline are spent."""
        payload = {
            "model": self.model,
            "messages": list(messages),
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        body = orjson.dumps(payload)
        deadline = time.monotonic() + budget_seconds(
            self.timeout_seconds, self.max_retries, self.backoff_seconds
        )
        last: _Retry | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                wait = min(BACKOFF_CAP_SECONDS, self.backoff_seconds * 2.0 ** (attempt - 1))
                if time.monotonic() + wait >= deadline:
                    break
                time.sleep(wait)
            try:
                content = self._attempt(body, deadline)
                try:
                    parsed = parse(content)
                except MalformedAnswer as error:
                    raise _Retry("malformed", f"malformed answer: {error}") from error
                REQUESTS.labels(outcome="ok").inc()
                return content, parsed
            except _Retry as retry:
                REQUESTS.labels(outcome=retry.outcome).inc()
                logger.warning(
                    "extraction.llm_attempt_failed url=%s model=%s attempt=%d/%d outcome=%s error=%s",
                    self.url,
                    self.model,
                    attempt + 1,
                    self.max_retries + 1,
                    retry.outcome,
                    retry,
                )
                last = retry
        attempts = f"{self.max_retries + 1} attempt(s)"
        if last is None:
            raise LLMUnavailable(f"{self.url}: no answer before the deadline")
        if last.outcome == "malformed":
            raise LLMMalformed(f"{self.url}: {last} (after {attempts})")
        raise LLMUnavailable(f"{self.url}: {last} (after {attempts})")

    def _attempt(self, body: bytes, deadline: float) -> str:
        """One request within the deadline and the per-attempt timeout; a slot held throughout."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not self._slots.acquire(timeout=remaining):
            raise _Retry("timeout", "no free request slot before the deadline")
        try:
            limit = min(self.timeout_seconds, deadline - time.monotonic())
            if limit <= 0:
                raise _Retry("timeout", "no time left for another attempt")
            return self._request(body, time.monotonic() + limit, limit)
        finally:
            self._slots.release()

    def _request(self, body: bytes, until: float, limit: float) -> str:
        timeout = httpx.Timeout(limit, connect=min(limit, 10.0))
        try:
            with self._http.stream(
                "POST",
                self.url,
                content=body,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            ) as response:
                if response.status_code >= 500 or response.status_code in RETRIED_STATUSES:
                    raise _Retry("http_error", f"HTTP {response.status_code}")
                if response.status_code != 200:
                    REQUESTS.labels(outcome="refused").inc()
                    detail = _short(response.read())
                    raise LLMRefused(f"{self.url}: HTTP {response.status_code} {detail}".strip())
                received = bytearray()
                # a slow drip of bytes resets httpx's read timeout: the wall clock bounds the whole
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > MAX_ANSWER_BYTES:
                        raise _Retry("malformed", f"answer larger than {MAX_ANSWER_BYTES} bytes")
                    if time.monotonic() > until:
                        raise _Retry("timeout", f"answer not complete within {limit:.1f} s")
        except httpx.TimeoutException as error:
            raise _Retry("timeout", f"timed out after {limit:.1f} s ({type(error).__name__})") from error
        except httpx.TransportError as error:
            raise _Retry("connection_error", f"{type(error).__name__}: {error}") from error
        try:
            content = message_content(bytes(received))
        except MalformedAnswer as error:
            raise _Retry("malformed", f"malformed answer: {error}") from error
        return content


def _short(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_json_object(content: str) -> dict[str, Any]:
    """The JSON object an answer holds, fenced in ```json ... ``` or not (MalformedAnswer if none)."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise MalformedAnswer(f"not JSON: {error}") from error
    if not isinstance(data, dict):
        raise MalformedAnswer(f"expected a JSON object, got {type(data).__name__}")
    return data
