"""Reading a password: prompted twice, or one line from stdin for scripts."""

from __future__ import annotations

import sys

import click


def read_password(from_stdin: bool, what: str = "Password") -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: no password on standard input")
        return password
    value: str = click.prompt(what, hide_input=True, confirmation_prompt=True)
    return value
