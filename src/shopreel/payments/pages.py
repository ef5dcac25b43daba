"""The sandbox's second-step page (what a card issuer's 3-D Secure page is to a real
provider): the buyer approves or fails the payment, then goes back to ``return_url``.

The link carries a secret issued with the authorization (only its hash is kept), so only
the buyer who received ``next_action_url`` can answer the challenge; the form also carries
the usual CSRF token. No login is needed: the page belongs to the "bank", not to ShopReel.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shopreel.deps import RuntimeDep
from shopreel.errors import NotFound
from shopreel.kit.money import Money
from shopreel.payments.provider import DECLINE_MESSAGES, Authorization
from shopreel.payments.sandbox import CHALLENGE_PATH, SandboxProvider
from shopreel.web.pages import PageGuard
from shopreel.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

AuthorizationId = Annotated[str, Path(min_length=1, max_length=64)]


class ChallengeNotFound(NotFound):
    code = "challenge_not_found"


def _context(authorization: Authorization, secret: str) -> dict[str, object]:
    return {
        "authorization": authorization,
        "amount": Money(authorization.amount_cents, authorization.currency).format(),
        "secret": secret,
        "action": f"{CHALLENGE_PATH}/{authorization.id}",
        "decline_message": DECLINE_MESSAGES.get(authorization.decline_code or ""),
    }


@router.get(CHALLENGE_PATH + "/{authorization_id}", response_class=HTMLResponse)
async def challenge_page(
    request: Request,
    authorization_id: AuthorizationId,
    _guard: PageGuard,
    runtime: RuntimeDep,
    secret: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    authorization = await SandboxProvider(runtime).challenge(authorization_id, secret)
    if authorization is None:
        raise ChallengeNotFound("This verification link is not valid.")
    return render(request, "payments/challenge.html", _context(authorization, secret))


@router.post(CHALLENGE_PATH + "/{authorization_id}", response_class=HTMLResponse)
async def challenge_submit(
    request: Request,
    authorization_id: AuthorizationId,
    _guard: PageGuard,
    runtime: RuntimeDep,
    secret: Annotated[str, Form(max_length=100)] = "",
    decision: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    if decision not in ("approve", "fail"):
        raise ChallengeNotFound("Choose to approve or to fail the verification.")
    result = await SandboxProvider(runtime).complete_challenge(
        authorization_id, secret, approve=decision == "approve"
    )
    if result is None:
        raise ChallengeNotFound("This verification link is not valid.")
    authorization, return_url = result
    if return_url:
        return redirect(request, return_url)
    return render(request, "payments/challenge.html", _context(authorization, secret))
