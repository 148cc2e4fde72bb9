"""The replay data channel's language: commands from the browser, state and replies from the server (JSON).

Commands (``seq`` optional, echoed in the reply)::

    {"cmd": "play"} | {"cmd": "pause"}
    {"cmd": "seek", "t": "2025-03-01T08:30:00+08:00"}
    {"cmd": "speed", "rate": 2}            0.5 .. 16 (above 4: keyframes only)
    {"cmd": "step", "frames": 1}           paused: next frame(s); negative: previous frame(s)
    {"cmd": "state"}                       send a state message now

See docs/replay.md for the messages the server sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from viewer.replay.clock import MAX_RATE, MIN_RATE

MAX_STEP_FRAMES = 250
COMMANDS = ("play", "pause", "seek", "speed", "step", "state")


class BadCommand(ValueError):
    """A data channel message that is not a valid command; the message says why."""

    def __init__(self, message: str, seq: int | str | None = None) -> None:
        super().__init__(message)
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Command:
    cmd: str
    seq: int | str | None = None
    t: datetime | None = None
    rate: float | None = None
    frames: int = 1


def parse_command(text: str | bytes) -> Command:
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadCommand('a command is a JSON object such as {"cmd": "play"}') from None
    if not isinstance(raw, dict):
        raise BadCommand('a command is a JSON object such as {"cmd": "play"}')
    seq = raw.get("seq")
    if not isinstance(seq, int | str) or isinstance(seq, bool):
        seq = None
    try:
        return _parse(raw, seq)
    except BadCommand as exc:
        raise BadCommand(str(exc), seq) from None


def _parse(raw: dict[str, Any], seq: int | str | None) -> Command:
    cmd = raw.get("cmd")
    if cmd not in COMMANDS:
        raise BadCommand(f"unknown command {cmd!r}; use one of {', '.join(COMMANDS)}")
    if cmd == "seek":
        return Command(cmd, seq, t=parse_time(raw.get("t")))
    if cmd == "speed":
        rate = raw.get("rate")
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
            raise BadCommand(f"rate must be a number from {MIN_RATE:g} to {MAX_RATE:g}")
        return Command(cmd, seq, rate=float(rate))
    if cmd == "step":
        frames = raw.get("frames", 1)
        if not isinstance(frames, int) or isinstance(frames, bool) or frames == 0:
            raise BadCommand("frames must be a whole number other than 0")
        if abs(frames) > MAX_STEP_FRAMES:
            raise BadCommand(f"step at most {MAX_STEP_FRAMES} frames at a time; seek for more")
        return Command(cmd, seq, frames=frames)
    return Command(cmd, seq)


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadCommand("t must be an ISO 8601 time with an offset, e.g. 2025-03-01T08:30:00+08:00")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadCommand(f"t: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadCommand(f"t: {value!r} has no time zone offset (add +08:00 or Z)")
    return parsed


def reply(kind: str, command: Command | None, **fields: Any) -> str:
    message: dict[str, Any] = {"type": kind}
    if command is not None:
        message["cmd"] = command.cmd
        if command.seq is not None:
            message["seq"] = command.seq
    message.update(fields)
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
