"""README.md and docs/walkthrough.md, executed as a newcomer would: a fresh `make run` in a clone
with nothing beside it, then every `bash` block of both files, in order, in one shell.

Conventions in the Markdown (docs/walkthrough.md says the same to its readers):
- a ```bash block is executed, in one bash session from the clone's root, in the order of
  README.md then docs/walkthrough.md; each must exit 0;
- a ```text block right after a ```bash block (blank lines only between) is that block's output.
  Volatile values are compared through placeholders: `<uuid>`, `<time>` (a UTC timestamp),
  `<day -45>` (a date, in days from today), `<token>`, `<sha256>`, `<run>` (the `$RUN` suffix),
  `whsec_<secret>`, `v1,<signature>`, `<pid>`, `<clone>` (the clone's path); and `…` stands
  for any text, so long answers may be shortened;
- ```sh blocks are what you type in another terminal (`make run`, `make test`): the test starts
  `make run` itself (with the loopback allowed as a webhook target, as §8 of the walkthrough
  asks) and leaves `make test` to CI; other languages are not shell.

The transcript of the README's "Day one" (its commands and what they printed, normalised the same
way) is written into the last part of docs/walkthrough.md. With DOSELINE_DOCS_REWRITE=1 the test
also rewrites every ```text block that no longer matches, for review in `git diff`.

One `make run` for all of it; Ctrl-C at the end must stop it with nothing force-killed.
"""

from __future__ import annotations

import itertools
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from doseline.testing.plugin import repository_root

ROOT = repository_root()
README = "README.md"
WALKTHROUGH = "docs/walkthrough.md"
PORTS = (8001, 8002, 8003, 8004, 6390)
READY_SECONDS = 900
BLOCK_SECONDS = 300
TRANSCRIPT_BEGIN = "<!-- transcript:begin (written by tests/test_docs_executed.py; do not edit) -->"
TRANSCRIPT_END = "<!-- transcript:end -->"
REWRITE = os.environ.get("DOSELINE_DOCS_REWRITE") == "1"
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    path: str
    language: str
    start: int  # line index of the opening fence
    end: int  # line index of the closing fence
    body: str
    expected: Block | None = None


def blocks_of(path: str, text: str) -> list[Block]:
    """Every fenced block, with each ```bash block's ```text output block attached."""
    lines = text.split("\n")
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        close = index + 1
        while close < len(lines) and lines[close].rstrip() != "```":
            close += 1
        if close == len(lines):
            raise AssertionError(f"{path}:{index + 1}: a ``` block is never closed")
        found.append(
            Block(path, opening.group(1), index, close, "\n".join(lines[index + 1 : close]))
        )
        index = close + 1
    for previous, block in itertools.pairwise(found):
        between = lines[previous.end + 1 : block.start]
        if (
            previous.language == "bash"
            and block.language == "text"
            and all(not line.strip() for line in between)
        ):
            previous.expected = block
    return found


UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIMESTAMP = re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)")
DATE = re.compile(r"(?<![\d-])(\d{4})-(\d\d)-(\d\d)(?![\d])")
TOKEN = re.compile(r"\beyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
RUN_ID = re.compile(r"\b(WCH|lab)-\d{6}\b")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")
SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/=]+")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PID = re.compile(r"\bpid \d+")
# The shipped protocol's sites (WCH, PUMCH) keep China Standard Time.
SITE_ZONE = ZoneInfo("Asia/Shanghai")


def normalise(
    output: str, *, today: date, site_today: date | None = None, clone: Path | None = None
) -> str:
    """The output with its volatile values replaced by the placeholders the Markdown uses.

    `site_today` is the day at the trial's sites, which is not always `today` (UTC): a date
    that is the site's today reads `<site today>` whatever the hour of the run."""
    text = ANSI.sub("", output)
    if clone is not None:
        text = text.replace(str(clone), "<clone>")
    text = PID.sub("pid <pid>", text)
    text = TOKEN.sub("<token>", text)
    text = UUID.sub("<uuid>", text)
    text = TIMESTAMP.sub("<time>", text)
    text = SHA256.sub("<sha256>", text)
    text = SECRET.sub("whsec_<secret>", text)
    text = SIGNATURE.sub("v1,<signature>", text)
    text = RUN_ID.sub(r"\1-<run>", text)

    def relative(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        if day == site_today:
            return "<site today>"
        offset = (day - today).days
        return f"<day {offset}>" if abs(offset) <= 400 else match[0]

    text = DATE.sub(relative, text)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def matches(expected: str, actual: str) -> bool:
    """`actual` (normalised) against `expected`, where `…` stands for any text."""
    wanted = [line.rstrip() for line in expected.split("\n")]
    while wanted and not wanted[-1]:
        wanted.pop()
    pattern = ".*?".join(re.escape(part) for part in "\n".join(wanted).split("…"))
    return re.fullmatch(pattern, actual, flags=re.DOTALL) is not None


def test_a_text_block_right_after_a_bash_block_is_its_output() -> None:
    text = "\n".join(
        [
            "```bash",
            "echo hi",
            "```",
            "",
            "```text",
            "hi",
            "```",
            "prose",
            "```bash",
            "true",
            "```",
            "between",
            "```text",
            "not an output",
            "```",
        ]
    )
    first, output, second, illustration = blocks_of("x.md", text)
    assert (first.language, first.body) == ("bash", "echo hi")
    assert first.expected is output
    assert output.body == "hi"
    assert second.expected is None
    assert illustration.language == "text"


def test_volatile_values_become_placeholders() -> None:
    today = date(2026, 12, 7)
    output = (
        '{"id":"0ce60c62-1f2e-4b7a-9c3d-5e6f7a8b9c0d","at":"2026-12-07T08:33:12.654487Z",'
        '"on":"2026-10-23","started_at":"2026-10-23T09:00:00+08:00","born":"1960-01-01"}\n'
        "lab-083312 WCH-083312-1 pid 4242 /tmp/x/doseline/.state whsec_4oRB+b/= v1,p9BCuk=\n"
        + "0" * 64
        + "  \n\n"
    )
    assert normalise(output, today=today, clone=Path("/tmp/x/doseline")) == (
        '{"id":"<uuid>","at":"<time>","on":"<day -45>","started_at":"<day -45>T09:00:00+08:00",'
        '"born":"1960-01-01"}\n'
        "lab-<run> WCH-<run>-1 pid <pid> <clone>/.state whsec_<secret> v1,<signature>\n"
        "<sha256>"
    )


def test_the_sites_day_is_named_whatever_the_hour() -> None:
    today = date(2026, 12, 7)
    output = "withdrawn on 2026-12-08; infused on 2026-12-07"
    assert normalise(output, today=today, site_today=date(2026, 12, 8)) == (
        "withdrawn on <site today>; infused on <day 0>"
    )
    assert normalise(output, today=today, site_today=today) == (
        "withdrawn on <day 1>; infused on <site today>"
    )


def test_an_ellipsis_stands_for_any_text() -> None:
    assert matches("a … b\nc", "a xx\nyy b\nc")
    assert matches("[\n    1,\n    …\n]\n\n", "[\n    1,\n    2,\n    3\n]")
    assert not matches("a … b", "a x c")
    assert not matches("(1+1)", "2")


class Shell:
    """One bash session: variables and functions of a block stay for the next ones."""

    def __init__(self, cwd: Path, env: dict[str, str], scratch: Path) -> None:
        self._scratch = scratch
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._count = 0

    def run(self, script: str) -> tuple[int, str]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._count += 1
        source = self._scratch / f"block-{self._count:03d}.sh"
        output = self._scratch / f"block-{self._count:03d}.out"
        source.write_text(script + "\n", encoding="utf-8")
        marker = f"__block_{self._count}_done__"
        self._process.stdin.write(
            f'source "{source}" > "{output}" 2>&1 < /dev/null; echo "{marker} $?"\n'.encode()
        )
        self._process.stdin.flush()
        deadline = time.monotonic() + BLOCK_SECONDS
        buffer = b""
        while marker.encode() not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"block {self._count} ran for over {BLOCK_SECONDS} s")
            ready, _, _ = select.select([self._process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self._process.stdout.fileno(), 4096)
                if not chunk:
                    raise AssertionError("the shell exited")
                buffer += chunk
        status = int(buffer.split(marker.encode())[1].split()[0])
        return status, output.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=30)


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _copy_working_tree(destination: Path) -> None:
    """The files git knows (committed or not), as a clone of this working tree would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        relative = raw.decode()
        source = ROOT / relative
        if not source.is_file():
            continue  # deleted in the working tree
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q"], cwd=destination, check=True)


@dataclass
class Instance:
    clone: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def make_run() -> Iterator[Instance]:
    busy = [port for port in PORTS if _port_in_use(port)]
    if busy:
        pytest.fail(f"ports {busy} are in use: stop the other `make run` first")
    workdir = Path(tempfile.mkdtemp(prefix="doseline-docs-"))
    clone = workdir / "doseline"  # nothing beside it, as on a user's machine
    _copy_working_tree(clone)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "BROKER_URL", "TEST_DATABASE_URL", "TEST_BROKER_URL"}
        and not key.startswith(("VIRTUAL_ENV", "UV_PROJECT", "PYTEST", "DOSELINE_"))
        and not key.endswith(("_DATABASE_URL", "_BROKER_URL"))
    }
    tools = ROOT / ".tools" / "bin"
    if (tools / "uv").exists():  # reuse this checkout's uv instead of installing one again
        env["PATH"] = f"{tools}:{env.get('PATH', '')}"
    env["NOTIFICATIONS_ALLOWED_TARGET_NETWORKS"] = '["127.0.0.1/32"]'
    log = workdir / "make-run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + READY_SECONDS
    while True:
        if (clone / ".env").is_file():  # written once every service is ready
            break
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=60)
            pytest.fail(f"make run was not ready in {READY_SECONDS} s:\n{log.read_text()[-4000:]}")
        time.sleep(1)
    try:
        yield Instance(clone=clone, env=env, log=log, process=process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in make run's terminal
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _transcript(entries: list[tuple[Block, str]]) -> str:
    parts = [
        TRANSCRIPT_BEGIN,
        "",
        "Each `bash` block of the README's “Two commands” to “Day one” sections, run in order on a",
        "fresh `make run` right after `source .env`, and what it printed (placeholders as in the",
        "rest of this page).",
    ]
    for block, output in entries:
        parts += ["", "```bash", block.body, "```", "", "```text", output or "(no output)", "```"]
    parts += ["", TRANSCRIPT_END]
    return "\n".join(parts)


def _replace_between(text: str, replacement: str) -> str:
    begin = text.index(TRANSCRIPT_BEGIN)
    end = text.index(TRANSCRIPT_END) + len(TRANSCRIPT_END)
    return text[:begin] + replacement + text[end:]


@pytest.mark.slow
def test_readme_and_walkthrough_run_as_written(make_run: Instance) -> None:
    today = datetime.now(UTC).date()
    site_today = datetime.now(SITE_ZONE).date()
    scratch = make_run.clone.parent / "blocks"
    scratch.mkdir()
    shell = Shell(make_run.clone, make_run.env, scratch)
    failures: list[str] = []
    rewritten: dict[str, str] = {}
    try:
        for path in (README, WALKTHROUGH):
            text = (make_run.clone / path).read_text(encoding="utf-8")
            lines = text.split("\n")
            replacements: list[tuple[Block, str]] = []
            transcript: list[tuple[Block, str]] = []
            for block in blocks_of(path, text):
                if block.language != "bash" or TRANSCRIPT_BEGIN in "\n".join(lines[: block.start]):
                    continue
                status, output = shell.run(block.body)
                where = f"{path}:{block.start + 1}"
                actual = normalise(output, today=today, site_today=site_today, clone=make_run.clone)
                if status != 0:
                    failures.append(f"{where} exited with {status}:\n{block.body}\n---\n{output}")
                    break
                if path == README:
                    transcript.append((block, actual))
                if block.expected is not None and not matches(block.expected.body, actual):
                    failures.append(
                        f"{where}: the output differs from the ```text block at line "
                        f"{block.expected.start + 1}\n--- documented\n{block.expected.body}\n"
                        f"--- actual (normalised)\n{actual}"
                    )
                    replacements.append((block.expected, actual))
            if failures and not REWRITE:
                break
            if path == README:
                walkthrough = (ROOT / WALKTHROUGH).read_text(encoding="utf-8")
                updated = _replace_between(walkthrough, _transcript(transcript))
                if updated != walkthrough:
                    (ROOT / WALKTHROUGH).write_text(updated, encoding="utf-8")
                    (make_run.clone / WALKTHROUGH).write_text(updated, encoding="utf-8")
            if REWRITE and replacements:
                source = (ROOT / path).read_text(encoding="utf-8").split("\n")
                for expected, actual in sorted(replacements, key=lambda r: -r[0].start):
                    source[expected.start + 1 : expected.end] = actual.split("\n")
                rewritten[path] = "\n".join(source)
    finally:
        shell.close()
    for path, text in rewritten.items():
        (ROOT / path).write_text(text, encoding="utf-8")
    failures += _stop_with_ctrl_c(make_run)
    assert not failures, "\n\n".join(failures)


def _stop_with_ctrl_c(make_run: Instance) -> list[str]:
    """Ctrl-C in make run's terminal: every process stops, nothing force-killed, broker last."""
    os.killpg(make_run.process.pid, signal.SIGINT)
    make_run.process.wait(timeout=120)
    log = make_run.log.read_text(encoding="utf-8", errors="replace")
    problems = []
    # make passes the SIGINT on to itself once its recipe has ended, as it should in a terminal.
    if make_run.process.returncode not in (0, -signal.SIGINT):
        problems.append(f"make run exited with {make_run.process.returncode} after Ctrl-C")
    if "killing it" in log:
        problems.append("a process had to be killed:\n" + log[-3000:])
    stops = [line for line in log.splitlines() if line.startswith("[doseline] stop")]
    if stops[-4:-1] != [
        "[doseline] stopping every service, then PostgreSQL, then the broker",
        "[doseline] stopping embedded PostgreSQL",
        "[doseline] stopping embedded Valkey",
    ] or not re.fullmatch(r"\[doseline\] stopped in \d+\.\d s", stops[-1] if stops else ""):
        problems.append("the stop was not in order:\n" + "\n".join(stops))
    if listening := [port for port in PORTS if _port_in_use(port)]:
        problems.append(f"still listening after Ctrl-C: {listening}")
    if (make_run.clone / ".state" / "instance.json").exists():
        problems.append(".state/instance.json outlived make run")
    return problems
