"""Which app modules a request runs through: one `POST /v1/articles?wait=true` (a fresh article
naming registered actors and topics, so extraction and storage run in the request) and one
`GET /v1/timelines?topic=..&actor=..`, served in-process (TestClient) over a fresh SQLite database
loaded with the starter registry.

Each kind of request is sent once to warm up (lazy imports, caches), then once more under a
profile hook set in every thread (`threading.setprofile` before the app starts any thread, plus
`sys.setprofile`). The hook notes the module (`frame.f_globals["__name__"]`) of every Python call
into `app.*`; module bodies (`<module>`, an import) are not counted, so modules that are only
imported at startup do not appear. The list is in first-executed order; calls made meanwhile by the
app's own background threads (shift worker, extraction supervisor, job runner) are listed apart.

  .venv/bin/python -m bench.request_path [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

# Where the helpers this needs live; the first module that has the name wins (the newer layout
# first, then the older one), so the script runs on either side of a module move.
REGISTRY_MODULES = ("app.registry.edits", "app.registry")
AUTH_MODULES = ("app.auth",)

# the app's own threads that do work of their own accord, not the request's
BACKGROUND_THREADS = ("stanceline-worker", "stanceline-extraction", "stanceline-jobs")

TOPIC = "ground-troops-ukraine"
ACTOR = "france"
TEXT = (
    "PARIS, March {day} - French President Emmanuel Macron said France is ready to send troops to "
    "Ukraine as part of a reassurance force once a ceasefire holds. Russia has repeatedly said it "
    "would never accept foreign troops in Ukraine. Story {n}."
)


@dataclass
class Trace:
    recording: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)  # (module, thread name), in order

    def profile(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or not self.recording:
            return
        module = frame.f_globals.get("__name__")
        if isinstance(module, str) and module.startswith("app.") and frame.f_code.co_name != "<module>":
            self.calls.append((module, threading.current_thread().name))


@dataclass
class Measured:
    request: str
    status: int
    note: str
    modules: list[str]
    count: int
    background: list[str]


def _attr(candidates: tuple[str, ...], name: str) -> Any:
    """`name` from the first module of `candidates` that exists and has it."""
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if missing == module_name or module_name.startswith(missing + "."):
                continue  # this module is not in this layout
            raise
        if hasattr(module, name):
            return getattr(module, name)
    raise ImportError(f"none of {', '.join(candidates)} has {name!r}")


def _in_order(calls: list[tuple[str, str]], *, background: bool) -> list[str]:
    seen: dict[str, None] = {}
    for module, thread in calls:
        if thread.startswith(BACKGROUND_THREADS) == background:
            seen.setdefault(module)
    return list(seen)


def _article(n: int) -> dict[str, Any]:
    return {
        "url": f"https://example.org/request-path/{n}",
        "title": f"Macron ready to send troops, story {n}",
        "published_at": f"2025-03-{20 + n:02d}T08:00:00Z",
        "source": "Bench Wire",
        "language": "en",
        "text": TEXT.format(day=20 + n, n=n),
    }


def measure() -> tuple[str, list[Measured]]:
    trace = Trace()
    # before the app exists: every thread it starts (event loop, thread pool, inline reads) is hooked
    threading.setprofile(trace.profile)
    sys.setprofile(trace.profile)
    try:
        return _measure(trace)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)


def _measure(trace: Trace) -> tuple[str, list[Measured]]:
    from fastapi.testclient import TestClient

    import app
    from app.config import Settings
    from app.db import session_scope
    from app.main import create_app

    import_registry = _attr(REGISTRY_MODULES, "import_registry")
    read_registry_file = _attr(REGISTRY_MODULES, "read_registry_file")
    starter = _attr(REGISTRY_MODULES, "STARTER_REGISTRY")
    create_key = _attr(AUTH_MODULES, "create_key")

    results = []
    with tempfile.TemporaryDirectory(prefix="stanceline-request-path-") as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'stanceline.db'}",
            migrate_on_start=True,
            log_level="WARNING",
            # `?wait=true` extracts in the request; no extraction worker processes are needed
            extraction_workers=0,
        )
        web_app = create_app(settings)
        with TestClient(web_app) as client:  # the lifespan runs the migrations
            with session_scope(web_app.state.sessionmaker) as session:
                import_registry(session, read_registry_file(starter))
                _, key = create_key(session, name="bench request path", scopes=["write"])
            client.headers["Authorization"] = f"Bearer {key}"
            timeline = {"topic": TOPIC, "actor": ACTOR}

            def post(n: int) -> tuple[int, str]:
                answer = client.post("/v1/articles", params={"wait": "true"}, json=_article(n))
                if answer.status_code != 201:
                    raise RuntimeError(f"POST /v1/articles: {answer.status_code} {answer.text[:300]}")
                body = answer.json()
                if not body.get("observations"):
                    raise RuntimeError(f"POST /v1/articles extracted no observations: {answer.text[:300]}")
                return answer.status_code, f"{body['status']}, {body['observations']} observations"

            def get() -> tuple[int, str]:
                answer = client.get("/v1/timelines", params=timeline)
                if answer.status_code != 200:
                    raise RuntimeError(f"GET /v1/timelines: {answer.status_code} {answer.text[:300]}")
                return answer.status_code, answer.headers.get("etag", "")

            post(1)
            _, warm_etag = get()

            trace.recording = True
            status, note = post(2)
            trace.recording = False
            results.append(_result("POST /v1/articles?wait=true", status, note, trace))

            trace.calls.clear()
            trace.recording = True
            status, etag = get()
            trace.recording = False
            # the measured article changed the data, so the timeline is computed, not a cached answer
            note = "cache hit (same ETag as the warm-up)" if etag and etag == warm_etag else "computed"
            results.append(_result(f"GET /v1/timelines?topic={TOPIC}&actor={ACTOR}", status, note, trace))
    return str(Path(app.__file__).parent), results


def _result(request: str, status: int, note: str, trace: Trace) -> Measured:
    modules = _in_order(trace.calls, background=False)
    return Measured(
        request=request,
        status=status,
        note=note,
        modules=modules,
        count=len(modules),
        background=_in_order(trace.calls, background=True),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print the lists as JSON")
    args = parser.parse_args(argv)
    app_dir, results = measure()
    if args.json:
        print(json.dumps({"app": app_dir, "requests": [asdict(r) for r in results]}, indent=2))
        return
    print(f"app: {app_dir}")
    for result in results:
        print(f"\n{result.request}  ->  {result.status} ({result.note})")
        for i, module in enumerate(result.modules, 1):
            print(f"  {i:3d}  {module}")
        print(f"  count: {result.count}")
        if result.background:
            print(f"  (meanwhile in background threads, not counted: {', '.join(result.background)})")


if __name__ == "__main__":
    main()
