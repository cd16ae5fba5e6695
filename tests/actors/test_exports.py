"""The public surface of ``actors`` and the layering it promises."""

from __future__ import annotations

import subprocess
import sys

import actors


def test_the_public_surface_is_exactly_the_documented_one() -> None:
    assert sorted(actors.__all__) == [
        "Actor",
        "ActorCrashed",
        "ActorError",
        "ActorStatistics",
        "ActorSystem",
        "Envelope",
        "MailboxFull",
        "NoReply",
        "Pending",
        "ReceivesNow",
        "StopReason",
        "SystemClosed",
        "open_actor_system",
    ]
    for name in actors.__all__:
        exported = getattr(actors, name)
        assert exported.__name__ == name
        assert exported.__module__.startswith("actors._")
    errors = [actors.ActorCrashed, actors.MailboxFull, actors.NoReply, actors.SystemClosed]
    assert all(issubclass(error, actors.ActorError) for error in errors)


def test_importing_actors_pulls_in_neither_fleet_nor_trio() -> None:
    code = (
        "import sys, actors\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'fleet', 'trio'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
