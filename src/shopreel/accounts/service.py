"""Account use cases. Functions take the unit of work first; they flush, never commit."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from shopreel.accounts import passwords, repository
from shopreel.accounts.errors import (
    AccountErrorCode,
    EmailTaken,
    InvalidCredentials,
    InvalidResetToken,
    WeakPassword,
)
from shopreel.accounts.models import (
    AccessToken,
    PasswordResetToken,
    Role,
    User,
    UserKey,
    UserStatus,
    WebSession,
)
from shopreel.accounts.principal import Principal
from shopreel.errors import NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from shopreel.kit.countries import is_country
from shopreel.kit.hashing import token_digest
from shopreel.kit.ids import new_id, new_token
from shopreel.kit.time import as_utc, utcnow
from shopreel.planes import regional
from shopreel.runtime import Runtime
from shopreel.sovereignty.crypto import normalize_email
from shopreel.uow import UnitOfWork

EMAIL_PURPOSE = "users.email"
TOKEN_PREFIX = "srt"  # noqa: S105 - a public prefix
SCOPES: dict[str, str] = {
    "account:read": "Read your profile",
    "account:write": "Change your profile and tokens",
    "catalog:read": "Read your shop's catalog",
    "catalog:write": "Create and change products in your shop",
    "cart:write": "Change your cart",
    "orders:read": "Read your orders (and, for a seller, your shop's incoming orders)",
    "orders:write": "Refund your shop's orders",
    "payments:write": "Check out and pay: start checkouts, authorize and confirm payments",
    "events:write": "Send interaction events",
}
SESSION_TOUCH_SECONDS = 60
RESET_TTL = timedelta(hours=1)
PUBLIC_ROLES = frozenset({Role.SHOPPER.value, Role.SELLER.value, Role.CREATOR.value})


@dataclass(frozen=True)
class NewUser:
    email: str
    password: str
    display_name: str
    country: str
    roles: tuple[str, ...] = (Role.SHOPPER.value,)
    jurisdiction: str | None = None
    staff_roles: tuple[str, ...] = ()


async def user_data_key(runtime: Runtime, session: AsyncSession, user_id: str) -> bytes | None:
    """The user's unwrapped data key, read through ``session`` (their home region's);
    ``None`` once the account is deleted (the key shredded). Callers choose the error."""
    key = await repository.user_key(session, user_id)
    if key is None:
        return None
    return runtime.cipher(key.region).open(key.wrapped_key)


def _email_context(user_id: str) -> str:
    return f"users.email:{user_id}"


def _name_context(user_id: str) -> str:
    return f"users.display_name:{user_id}"


def validate_email(raw: str) -> str:
    email = normalize_email(raw)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        raise ValidationFailed("Enter a valid email address.", extra={"field": "email"})
    return email


async def locate_email(runtime: Runtime, email: str) -> tuple[str, str] | None:
    """Which region holds the account for ``email``: (region, user id), or None.

    The one named cross-region lookup of accounts. There is no global directory of users:
    each region is asked with its own keyed hash of the email, so no region learns about
    another's users and nothing personal is written outside the home region."""
    for region in runtime.settings.region_names:
        index = runtime.cipher(region).index(email, EMAIL_PURPOSE)
        async with runtime.databases.session(regional(region)) as session:
            user = await repository.user_by_email_index(session, index)
            if user is not None:
                return region, user.id
    return None


async def sign_up(uow: UnitOfWork, runtime: Runtime, new: NewUser) -> User:
    email = validate_email(new.email)
    problem = passwords.password_problem(new.password)
    if problem:
        raise WeakPassword(problem, extra={"field": "password"})
    country = new.country.strip().upper()
    if not is_country(country):
        raise ValidationFailed(
            "Choose your country.",
            code=AccountErrorCode.INVALID_COUNTRY.value,
            extra={"field": "country"},
        )
    display_name = " ".join(new.display_name.split())
    if not 1 <= len(display_name) <= 80:
        raise ValidationFailed(
            "Enter a name of 1 to 80 characters.", extra={"field": "display_name"}
        )
    unknown = set(new.roles) - {r.value for r in Role}
    if unknown or not new.roles:
        raise ValidationFailed(
            f"Unknown role {sorted(unknown)}", code=AccountErrorCode.INVALID_ROLE.value
        )
    if Role.STAFF.value in new.roles and not new.jurisdiction:
        raise ValidationFailed(
            "Staff accounts need a jurisdiction.", extra={"field": "jurisdiction"}
        )
    if await locate_email(runtime, email) is not None:
        raise EmailTaken("An account with this email already exists.", extra={"field": "email"})

    region = runtime.settings.region_for_country(country)
    uow.bind_region(region)
    session = uow.region(region)
    cipher = runtime.cipher(region)
    user_id = new_id("usr", region)
    data_key, wrapped = cipher.new_wrapped_key()
    user = User(
        id=user_id,
        region=region,
        email_index=cipher.index(email, EMAIL_PURPOSE),
        email_ct=cipher.encrypt(data_key, email, _email_context(user_id)),
        display_name_ct=cipher.encrypt(data_key, display_name, _name_context(user_id)),
        country=country,
        roles=list(dict.fromkeys(new.roles)),
        jurisdiction=new.jurisdiction.upper() if new.jurisdiction else None,
        staff_roles=list(new.staff_roles),
        password_hash=passwords.hash_password(new.password),
        status=UserStatus.ACTIVE.value,
    )
    session.add(UserKey(user_id=user_id, region=region, wrapped_key=wrapped))
    session.add(user)
    await session.flush()
    return user


async def grant_role(uow: UnitOfWork, user_id: str, role: str) -> User:
    """Give a user one more public role (``seller`` when they apply for a shop); idempotent.

    Staff roles are never granted this way. The change shows in the principal of the user's
    next request."""
    if role not in PUBLIC_ROLES:
        raise ValidationFailed(f"{role!r} is not a public role.", code="invalid_role")
    user = await repository.user_by_id(uow.region(), user_id)
    if user is None:
        raise NotFound("No such user.")
    if role not in user.roles:
        user.roles = [*user.roles, role]  # a new list: JSON columns track assignment only
    return user


async def load_principal(
    uow: UnitOfWork,
    runtime: Runtime,
    user: User,
    *,
    auth: str,
    scopes: frozenset[str] | None = None,
    session_hash: str | None = None,
    token_id: str | None = None,
    key: UserKey | None = None,
) -> Principal:
    if key is None:
        key = await repository.user_key(uow.region(user.region), user.id)
    if key is None:
        raise NotAuthenticated("This account no longer exists.")
    cipher = runtime.cipher(user.region)
    data_key = cipher.open(key.wrapped_key)
    return Principal(
        id=user.id,
        region=user.region,
        email=cipher.decrypt_text(data_key, user.email_ct, _email_context(user.id)),
        display_name=cipher.decrypt_text(data_key, user.display_name_ct, _name_context(user.id)),
        country=user.country,
        roles=tuple(user.roles),
        jurisdiction=user.jurisdiction,
        staff_roles=tuple(user.staff_roles),
        auth="token" if auth == "token" else "session",
        scopes=scopes if scopes is not None else frozenset(SCOPES),
        session_hash=session_hash,
        token_id=token_id,
    )


def _throttle_key(runtime: Runtime, kind: str, value: str) -> str:
    digest = hmac.new(runtime.settings.secret_key.encode(), value.encode(), hashlib.sha256)
    return f"login:{kind}:{digest.hexdigest()[:32]}"


async def _check_throttle(runtime: Runtime, email: str, ip: str) -> None:
    settings = runtime.settings
    checks = (
        (_throttle_key(runtime, "acct", email), settings.login_max_failures),
        (_throttle_key(runtime, "ip", ip), settings.ip_max_failures),
    )
    for key, limit in checks:
        count, retry_after = await runtime.failures.count(key)
        if count >= limit:
            runtime.metrics.login_failures.labels("throttled").inc()
            raise TooManyRequests(
                "Too many failed attempts. Try again later or reset your password.",
                retry_after=retry_after,
                code=AccountErrorCode.LOGIN_THROTTLED.value,
            )


async def _record_failure(runtime: Runtime, email: str, ip: str) -> None:
    window = runtime.settings.login_window_seconds
    await runtime.failures.add(_throttle_key(runtime, "acct", email), window)
    await runtime.failures.add(_throttle_key(runtime, "ip", ip), window)


async def authenticate(
    uow: UnitOfWork, runtime: Runtime, raw_email: str, password: str, *, ip: str
) -> User:
    """Check credentials; throttled per account and per client address.

    The (N+1)th attempt after N failures inside the window gets 429 with Retry-After,
    whatever the password: an attacker learns nothing from it. A password reset clears the
    account's counter, so the legitimate user is never locked out for long."""
    email = normalize_email(raw_email)
    await _check_throttle(runtime, email, ip)
    located = await locate_email(runtime, email)
    if located is None:
        passwords.burn_time(password)
        await _record_failure(runtime, email, ip)
        runtime.metrics.login_failures.labels("unknown_email").inc()
        raise InvalidCredentials("Email or password is incorrect.")
    region, user_id = located
    uow.bind_region(region)
    user = await repository.user_by_id(uow.region(region), user_id)
    if user is None or not passwords.verify_password(user.password_hash, password):
        await _record_failure(runtime, email, ip)
        runtime.metrics.login_failures.labels("bad_password").inc()
        raise InvalidCredentials("Email or password is incorrect.")
    if user.status != UserStatus.ACTIVE.value:
        raise InvalidCredentials("This account is not active.")
    await runtime.failures.reset(_throttle_key(runtime, "acct", email))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def _session_cookie_value(region: str, token: str) -> str:
    return f"{region}.{token}"


def split_region_token(value: str) -> tuple[str, str] | None:
    region, sep, token = value.partition(".")
    if not sep or not region or len(token) < 32:
        return None
    return region, token


async def start_session(
    uow: UnitOfWork, runtime: Runtime, user: User, *, previous_cookie: str | None = None
) -> str:
    """Create a new web session (a fresh id at every login) and end the previous one."""
    session = uow.region(user.region)
    if previous_cookie:
        parsed = split_region_token(previous_cookie)
        if parsed and parsed[0] == user.region:
            await session.execute(
                delete(WebSession).where(WebSession.token_hash == token_digest(parsed[1]))
            )
    token = new_token(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=token_digest(token),
            user_id=user.id,
            region=user.region,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=runtime.settings.session_absolute_hours),
        )
    )
    await session.flush()
    return _session_cookie_value(user.region, token)


async def resolve_session(uow: UnitOfWork, runtime: Runtime, cookie: str) -> Principal | None:
    """The principal of a session cookie, or None when unknown or expired (idle/absolute)."""
    parsed = split_region_token(cookie)
    if parsed is None or parsed[0] not in runtime.settings.region_names:
        return None
    region, token = parsed
    uow.bind_region(region)
    session = uow.region(region)
    token_hash = token_digest(token)
    found = await repository.session_with_user_and_key(session, token_hash)
    if found is None:
        return None
    record, user, key = found
    now = utcnow()
    idle_limit = as_utc(record.last_seen_at) + timedelta(
        minutes=runtime.settings.session_idle_minutes
    )
    if now >= as_utc(record.expires_at) or now >= idle_limit:
        await session.delete(record)
        return None
    if user.status != UserStatus.ACTIVE.value:
        return None
    if (now - as_utc(record.last_seen_at)).total_seconds() >= SESSION_TOUCH_SECONDS:
        record.last_seen_at = now
    return await load_principal(
        uow, runtime, user, auth="session", session_hash=token_hash, key=key
    )


async def end_session(uow: UnitOfWork, principal: Principal) -> None:
    if principal.session_hash is None:
        return
    await uow.region(principal.region).execute(
        delete(WebSession).where(WebSession.token_hash == principal.session_hash)
    )


async def create_access_token(
    uow: UnitOfWork,
    principal: Principal,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
) -> tuple[AccessToken, str]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("Give the token a name of 1 to 100 characters.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(f"Choose scopes from {sorted(SCOPES)}; unknown: {unknown}")
    if expires_in_days is not None and not 1 <= expires_in_days <= 366:
        raise ValidationFailed("Tokens expire after 1 to 366 days.")
    secret = f"{TOKEN_PREFIX}_{principal.region}_{new_token(32)}"
    token = AccessToken(
        id=new_id("tok", principal.region),
        user_id=principal.id,
        region=principal.region,
        name=name,
        token_hash=token_digest(secret),
        scopes=sorted(set(scopes)),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session = uow.region(principal.region)
    session.add(token)
    await session.flush()
    return token, secret


async def revoke_access_token(uow: UnitOfWork, principal: Principal, token_id: str) -> AccessToken:
    session = uow.region(principal.region)
    token = await session.get(AccessToken, token_id)
    if token is None or token.user_id != principal.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


async def resolve_access_token(uow: UnitOfWork, runtime: Runtime, secret: str) -> Principal | None:
    prefix, _, rest = secret.partition("_")
    region, _, _ = rest.partition("_")
    if prefix != TOKEN_PREFIX or region not in runtime.settings.region_names:
        return None
    uow.bind_region(region)
    session = uow.region(region)
    found = await repository.token_with_user_and_key(session, token_digest(secret))
    now = utcnow()
    if found is None:
        return None
    token, user, key = found
    if token.revoked_at is not None:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
        return None
    if user.status != UserStatus.ACTIVE.value:
        return None
    if token.last_used_at is None or (now - as_utc(token.last_used_at)).total_seconds() > 60:
        token.last_used_at = now
    return await load_principal(
        uow,
        runtime,
        user,
        auth="token",
        scopes=frozenset(token.scopes),
        token_id=token.id,
        key=key,
    )


async def request_password_reset(runtime: Runtime, raw_email: str) -> str | None:
    """Mail a reset link if the account exists. Returns the message id (None if no account);
    callers must not reveal which."""
    email = normalize_email(raw_email)
    located = await locate_email(runtime, email)
    if located is None:
        return None
    region, user_id = located
    token = new_token(32)
    async with runtime.databases.transaction(regional(region)) as session:
        session.add(
            PasswordResetToken(
                token_hash=token_digest(token),
                user_id=user_id,
                region=region,
                expires_at=utcnow() + RESET_TTL,
            )
        )
    link = f"{runtime.settings.base_url}/password-reset/confirm?token={region}.{token}"
    return runtime.mailer.send(
        region,
        email,
        "Reset your ShopReel password",
        f"Someone asked to reset the password of your ShopReel account.\n\n"
        f"Open this link within an hour to choose a new password:\n{link}\n\n"
        f"If it was not you, ignore this message.",
    )


async def reset_password(uow: UnitOfWork, runtime: Runtime, raw_token: str, password: str) -> User:
    parsed = split_region_token(raw_token)
    if parsed is None or parsed[0] not in runtime.settings.region_names:
        raise InvalidResetToken("This reset link is invalid or has expired.")
    region, token = parsed
    uow.bind_region(region)
    session = uow.region(region)
    record = await repository.reset_token(session, token_digest(token))
    if record is None or record.used_at is not None or as_utc(record.expires_at) <= utcnow():
        raise InvalidResetToken("This reset link is invalid or has expired.")
    problem = passwords.password_problem(password)
    if problem:
        raise WeakPassword(problem, extra={"field": "password"})
    user = await repository.user_by_id(session, record.user_id)
    if user is None:
        raise InvalidResetToken("This reset link is invalid or has expired.")
    record.used_at = utcnow()
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    # A new password ends every existing session and clears the lockout.
    await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    principal = await load_principal(uow, runtime, user, auth="session")
    await runtime.failures.reset(_throttle_key(runtime, "acct", normalize_email(principal.email)))
    return user
