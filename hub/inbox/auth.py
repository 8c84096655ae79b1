"""Operator credentials: argon2id passwords, opaque bearer tokens, and who may see what.

Tokens are random and only their SHA-256 is stored, so a database leak does not leak sessions.
Every request looks its token up together with the operator's ``is_active`` flag, which is why a
deactivated operator's tokens stop working at once, on every process.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import argon2
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import utcnow
from hub.inbox.models import Operator, OperatorToken, Role, TeamMember


@dataclass(frozen=True, slots=True)
class Principal:
    """The operator behind a request, with what decides his access."""

    operator_id: int
    name: str
    role: str
    team_ids: frozenset[int]
    #: The session (the token's row id) the request came with; None when the principal was
    #: loaded by operator id. Logging out closes the sockets of this session only.
    session_id: int | None = None

    @property
    def is_staff(self) -> bool:
        """Managers and admins see every conversation."""
        return self.role in (Role.MANAGER.value, Role.ADMIN.value)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


class PasswordHasher:
    """argon2id hashing off the event loop (a hash takes ~170 ms with the library defaults)."""

    def __init__(self, *, fast: bool = False) -> None:
        if fast:
            self._ph = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
        else:
            self._ph = argon2.PasswordHasher()
        # A real hash to verify against when the email is unknown, so timing tells nothing.
        # Made by the first check of any password, known email or not, so that one is no
        # tell either; not here, where every process start (and CLI command) would pay a
        # hash's time and its 64 MiB.
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._ph.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def check() -> bool:
            if self._dummy is None:
                self._dummy = self._ph.hash(secrets.token_hex(8))
            try:
                return self._ph.verify(password_hash or self._dummy, password)
            except (VerificationError, InvalidHashError):
                return False

        ok = await asyncio.to_thread(check)
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._ph.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A password for a new operator: 16 url-safe characters, ~96 bits."""
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "hub_" + secrets.token_urlsafe(32)


async def issue_token(session: AsyncSession, operator_id: int, ttl: timedelta) -> str:
    token = new_token()
    now = utcnow()
    session.add(
        OperatorToken(
            operator_id=operator_id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def load_principal(
    session: AsyncSession, operator: Operator, session_id: int | None = None
) -> Principal:
    teams = await session.scalars(
        select(TeamMember.team_id).where(TeamMember.operator_id == operator.id)
    )
    return Principal(operator.id, operator.name, operator.role, frozenset(teams), session_id)
