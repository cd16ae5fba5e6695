"""The error tree drawn in ``actors._errors``."""

from __future__ import annotations

import anyio
import pytest

from actors import ActorCrashed, ActorError, MailboxFull, NoReply, SystemClosed


@pytest.mark.parametrize("leaf", [ActorCrashed, MailboxFull, NoReply, SystemClosed])
def test_every_error_is_an_actor_error(leaf: type[Exception]) -> None:
    assert issubclass(leaf, ActorError)


def test_mailbox_full_is_would_block() -> None:
    assert issubclass(MailboxFull, anyio.WouldBlock)


def test_crash_names_key_and_keeps_cause() -> None:
    cause = KeyError("x")
    crashed = ActorCrashed("k1", cause)
    assert crashed.key == "k1"
    assert crashed.__cause__ is cause
    assert crashed.__suppress_context__
    assert "'k1'" in str(crashed)
