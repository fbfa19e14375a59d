"""The README's quick start, run as printed against a fresh demo.

The commands come from README.md itself (the fenced block after the `<!-- quickstart: -->`
comment), so the README and this test cannot drift: `stanceline demo` runs in a temporary
directory on a free port, its printed suggestions must be the README's lines (with its keys, port
and paths in place of the README's `$KEY`, `$ADMIN`, 8000 and `$PWD`), each README line then runs
in bash after the demo's own `source` and `export` lines, and every answer the README shows after
`# ->` must be the answer given (`...` marks what the README leaves out). Then a few steps of our
own on the topic the quick start created: scopes, a second article, its timeline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli.main import demo_tour

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARKER = "<!-- quickstart:"
README_PORT = "127.0.0.1:8000"
ELLIPSIS = "..."


@dataclass(frozen=True)
class Step:
    command: str
    answer: str | None  # what the README shows after `# ->`, continuation lines joined


def _fence_after(text: str, marker: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(marker))
    assert lines[start + 1] == "```bash", "the marker must sit right above a ```bash block"
    end = lines.index("```", start + 2)
    return lines[start + 2 : end]


def quickstart_steps(text: str | None = None) -> list[Step]:
    """The quick start's commands (backslash continuations joined) with the answers shown."""
    steps: list[Step] = []
    command: list[str] = []
    answer: list[str] | None = None
    for line in _fence_after(text if text is not None else README.read_text(encoding="utf-8"), MARKER):
        if line.startswith("# -> "):
            answer = [line[len("# -> ") :]]
            steps[-1] = Step(steps[-1].command, " ".join(answer))
        elif line.startswith("#"):
            if answer is not None and steps:
                answer.append(line.lstrip("#").strip())
                steps[-1] = Step(steps[-1].command, " ".join(answer))
        elif line.endswith("\\"):
            command.append(line[:-1].rstrip())
        elif line.strip():
            command.append(line.strip() if command else line)
            steps.append(Step(" ".join(command), None))
            command, answer = [], None
    assert not command, "a quick-start command ends with a backslash"
    return steps


def _normalised(line: str, *, keys: dict[str, str], port: int, workdir: Path) -> str:
    """A line the demo printed, written as the README writes it."""
    line = line.replace(f"KEY={keys['write']} ADMIN={keys['admin']}", "KEY=sl_... ADMIN=sl_...")
    line = line.replace(keys["write"], "$KEY").replace(keys["admin"], "$ADMIN")
    line = line.replace(f"127.0.0.1:{port}", README_PORT)
    line = line.replace(f"{BIN}/", ".venv/bin/")
    return line.replace(str(workdir), "$PWD")


def _pattern(answer_body: str) -> Any:
    """The README's JSON answer as data; `...` becomes a marker `matches` reads."""
    text = re.sub(r"\[\s*\.\.\.\s*\]", '["..."]', answer_body)
    text = re.sub(r",\s*\.\.\.\s*(?=\})", ', "...": "..."', text)
    text = re.sub(r",\s*\.\.\.\s*(?=\])", ', "..."', text)
    return json.loads(text)


def matches(expected: Any, actual: Any) -> bool:
    """`actual` holds everything `expected` shows; `...` stands for keys or items left out."""
    if isinstance(expected, dict):
        shown = [k for k in expected if k != ELLIPSIS]
        complete = ELLIPSIS not in expected
        return (
            isinstance(actual, dict)
            and all(k in actual and matches(expected[k], actual[k]) for k in shown)
            and (not complete or set(shown) == set(actual))
        )
    if isinstance(expected, list):
        open_ended = bool(expected) and expected[-1] == ELLIPSIS
        head = expected[:-1] if open_ended else expected
        return (
            isinstance(actual, list)
            and (len(actual) >= len(head) if open_ended else len(actual) == len(head))
            and all(matches(e, a) for e, a in zip(head, actual, strict=False))
        )
    if isinstance(expected, float) and isinstance(actual, int | float) and not isinstance(actual, bool):
        return abs(expected - actual) < 1e-9
    return bool(expected == actual)


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first = text.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert text.index("```bash") < text.index("\n## ")  # before any section
    script = (ROOT / "scripts" / "demo.sh").read_text(encoding="utf-8").splitlines()
    assert script[-1] == 'exec .venv/bin/stanceline demo "$@"'  # what the quick start below runs


def test_the_demo_prints_the_quick_start_of_the_readme(tmp_path: Path) -> None:
    keys = {"write": "sl_" + "w" * 43, "admin": "sl_" + "a" * 43}
    printed = demo_tour(
        "http://127.0.0.1:8123",
        write_key=keys["write"],
        admin_key=keys["admin"],
        database_url=f"sqlite:///{tmp_path}/stanceline-demo.db",
    )
    normalised = [_normalised(line, keys=keys, port=8123, workdir=tmp_path) for line in printed]
    assert normalised == [step.command for step in quickstart_steps()]


def test_answers_match_what_the_readme_shows() -> None:
    assert matches(_pattern('{"a": 1, "b": [...], ...}'), {"a": 1, "b": [1, 2], "c": None})
    assert not matches(_pattern('{"a": 1, "b": []}'), {"a": 1, "b": [], "c": None})
    assert matches(_pattern('[{"x": 0.5, ...}, ...]'), [{"x": 0.5, "y": 1}, {"x": 2}])
    assert not matches(_pattern('[{"x": 0.5}]'), [{"x": 0.5}, {"x": 2}])
    steps = quickstart_steps(
        "<!-- quickstart: -->\n```bash\nexport A=1\ncurl a \\\n  -d b\n# -> 201 {\n#  }\n```\n"
    )
    assert steps == [Step("export A=1", None), Step("curl a -d b", "201 { }")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_demo(process: subprocess.Popen[bytes], log: Path, port: int) -> list[str]:
    """The demo's stderr once it has printed its suggestions and answers on `port`."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        lines = log.read_text(encoding="utf-8").splitlines()
        if any("keys create --name me" in line for line in lines):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2, trust_env=False).is_success:
                    return lines
            except httpx.TransportError:
                pass
        time.sleep(0.5)
    raise AssertionError("the demo did not start in 240 s:\n" + log.read_text(encoding="utf-8"))


def _printed(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The keys the demo printed, and its suggestions (the indented lines after "Then try")."""
    keys = {}
    for line in lines:
        found = re.fullmatch(r"\s+(write|admin) \(.*\):\s+(sl_\S+)", line)
        if found:
            keys[found[1]] = found[2]
    start = next(i for i, line in enumerate(lines) if line.startswith("Then try")) + 1
    tour = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        tour.append(line[2:])
    return keys, tour


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quick start uses curl, which is not installed")
def test_the_quick_start_runs_as_printed_on_a_fresh_demo(tmp_path: Path) -> None:
    workdir = tmp_path.resolve()
    (workdir / ".venv").symlink_to(BIN.parent)  # the repository's root, as the quick start has it
    (workdir / "curl").mkdir()
    # every curl reports its status on a last line of its own, without touching the README's commands
    (workdir / "curl" / ".curlrc").write_text('silent\nshow-error\nwrite-out = "\\n%{http_code}"\n')
    env = {
        k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("STANCELINE_")
    }
    env.update(CURL_HOME=str(workdir / "curl"), PWD=str(workdir), NO_PROXY="127.0.0.1,localhost")
    port = _free_port()
    log = workdir / "demo.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [str(BIN / "stanceline"), "demo", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        lines = _wait_for_demo(process, log, port)
        keys, tour = _printed(lines)
        assert set(keys) == {"write", "admin"}
        assert keys["write"] != keys["admin"]
        assert lines[0] == f"database: sqlite:///{workdir}/stanceline-demo.db (new file)"

        # the demo prints the README's quick start, with its own keys, port and paths
        steps = quickstart_steps()
        assert [_normalised(line, keys=keys, port=port, workdir=workdir) for line in tour] == [
            s.command for s in steps
        ]
        preamble = "\n".join(tour[:2])  # source .venv/bin/activate; export KEY=... ADMIN=... STANCELINE_...
        assert steps[0].command == "source .venv/bin/activate"
        assert steps[1].command.startswith("export KEY=sl_... ADMIN=sl_... ")

        outputs = []
        for step in steps[2:]:
            command = step.command.replace(README_PORT, f"127.0.0.1:{port}")
            done = subprocess.run(
                ["bash", "-c", f"{preamble}\n{command}"],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, (step.command, done.stdout, done.stderr)
            outputs.append((step, done))
            if step.command.startswith("curl"):
                body, _, status = done.stdout.rpartition("\n")
                assert step.answer is not None, f"the README shows no answer for {step.command}"
                shown_status, _, shown_body = step.answer.partition(" ")
                assert int(status) == int(shown_status), (step.command, done.stdout)
                assert matches(_pattern(shown_body), json.loads(body)), (step.command, step.answer, body)
            else:  # the CLI: its stdout as the README shows it, `...` for any run of characters
                assert step.answer is not None
                shown = re.escape(step.answer).replace(re.escape(ELLIPSIS), r"\S+")
                assert re.fullmatch(shown, done.stdout.strip()), (step.command, done.stdout)

        # the key `stanceline keys create` printed went to the demo's database and works there
        created = outputs[-1][1]
        assert f"database: sqlite:///{workdir}/stanceline-demo.db" in created.stderr.splitlines()
        me = created.stdout.strip()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
            listed = client.get("/v1/keys", headers={"Authorization": f"Bearer {me}"})
            assert listed.status_code == 200, listed.text
            assert {k["name"]: k["scope"] for k in listed.json()} == {
                "demo write": "write",
                "demo admin": "admin",
                "me": "admin",
            }
            _more_of_our_own(client, keys)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text(encoding="utf-8")[-3000:]


def _extracted(client: httpx.Client, article_id: int) -> dict[str, Any]:
    """The article once its extraction is no longer pending."""
    deadline = time.monotonic() + 120
    while True:
        detail: dict[str, Any] = client.get(f"/v1/articles/{article_id}").json()
        if detail["extraction"]["state"] != "pending" or time.monotonic() > deadline:
            assert detail["extraction"]["state"] == "done", detail["extraction"]
            return detail
        time.sleep(0.2)


def _more_of_our_own(client: httpx.Client, keys: dict[str, str]) -> None:
    """Scopes, and a second article on the quick start's topic: the council changes its mind."""
    write = {"Authorization": f"Bearer {keys['write']}"}
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    refused = client.post("/v1/topics", headers=write, json={"slug": "ferry-fares", "name": "Ferry fares"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert client.post("/v1/topics", json={"slug": "ferry-fares", "name": "Ferry fares"}).status_code == 401
    stored = client.get("/v1/topics/harbour-road-bike-lane", headers=admin)
    assert stored.status_code == 200
    assert stored.json()["keywords"] == ["bike lane", "cycle lane"]

    article = {
        "url": "https://example.org/elden/2025/05/13/bike-lane-scrapped",
        "title": "Council scraps the bike lane",
        "published_at": "2025-05-13T18:00:00Z",
        "source": "Elden Post",
        "text": "After a month of protests by shop owners, Elden City Council voted on Monday "
        "to scrap the Harbour Road bike lane.",
    }
    # without ?wait the answer comes at once and the demo's extraction worker follows
    posted = client.post("/v1/articles", headers=write, json=article)
    assert posted.status_code == 201, posted.text
    assert (posted.json()["status"], posted.json()["extraction"]) == ("created", "pending")
    detail = _extracted(client, posted.json()["article_id"])
    assert len(detail["observations"]) == 1
    again = client.post("/v1/articles", headers=write, json=article)
    assert (again.status_code, again.json()["status"]) == (200, "unchanged")

    stances = client.get(
        "/v1/stances", params={"topic": "harbour-road-bike-lane", "actor": "elden-city-council"}
    ).json()["items"]
    assert [(s["observed_at"][:10], s["label"], s["method"]) for s in stances] == [
        ("2025-03-04", "support", "rules"),
        ("2025-05-12", "oppose", "rules"),  # "on Monday", resolved against the Tuesday it was published
    ]
    assert stances[1]["evidence"] == article["text"]

    timeline = client.get("/v1/timelines", params={"topic": "harbour-road-bike-lane", "interval": "month"})
    assert timeline.status_code == 200
    (series,) = timeline.json()["series"]
    assert series["actor"] == "elden-city-council"
    assert [(p["bucket"][:7], p["score"], p["count"]) for p in series["points"]] == [
        ("2025-03", 1.0, 1),
        ("2025-04", None, 0),
        ("2025-05", -1.0, 1),
    ]
