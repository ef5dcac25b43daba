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


async def web_session(session: AsyncSession, token_hash: str) -> WebSession | None:
    return await session.get(WebSession, token_hash)


async def access_token_by_hash(session: AsyncSession, token_hash: str) -> AccessToken | None:
    result = await session.execute(select(AccessToken).where(AccessToken.token_hash == token_hash))
    return result.scalar_one_or_none()


async def access_tokens_of(session: AsyncSession, user_id: str) -> list[AccessToken]:
    result = await session.execute(
        select(AccessToken)
        .where(AccessToken.user_id == user_id)
        .order_by(AccessToken.created_at.desc())
    )
    return list(result.scalars())


async def reset_token(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    return await session.get(PasswordResetToken, token_hash)
