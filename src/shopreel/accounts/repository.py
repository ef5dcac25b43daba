"""Every account query. Functions take the session of the plane they read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts.models import AccessToken, PasswordResetToken, User, UserKey, WebSession


async def user_by_id(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def user_by_email_index(session: AsyncSession, email_index: str) -> User | None:
    result = await session.execute(select(User).where(User.email_index == email_index))
    return result.scalar_one_or_none()


async def user_key(session: AsyncSession, user_id: str) -> UserKey | None:
    return await session.get(UserKey, user_id)


async def access_tokens_of(session: AsyncSession, user_id: str) -> list[AccessToken]:
    result = await session.execute(
        select(AccessToken)
        .where(AccessToken.user_id == user_id)
        .order_by(AccessToken.created_at.desc())
    )
    return list(result.scalars())


async def reset_token(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    return await session.get(PasswordResetToken, token_hash)


async def token_with_user_and_key(
    session: AsyncSession, token_hash: str
) -> tuple[AccessToken, User, UserKey] | None:
    """One round trip for the hot path of every API request."""
    result = await session.execute(
        select(AccessToken, User, UserKey)
        .join(User, User.id == AccessToken.user_id)
        .join(UserKey, UserKey.user_id == User.id)
        .where(AccessToken.token_hash == token_hash)
    )
    row = result.first()
    return (row[0], row[1], row[2]) if row else None


async def session_with_user_and_key(
    session: AsyncSession, token_hash: str
) -> tuple[WebSession, User, UserKey] | None:
    result = await session.execute(
        select(WebSession, User, UserKey)
        .join(User, User.id == WebSession.user_id)
        .join(UserKey, UserKey.user_id == User.id)
        .where(WebSession.token_hash == token_hash)
    )
    row = result.first()
    return (row[0], row[1], row[2]) if row else None
