"""The ledger's invariants under thousands of generated operations (issue #4, "Done when").

A Hypothesis state machine drives the real service on the test database (SQLite, or
PostgreSQL with SHOPREEL_TEST_DB=postgres) with sales, partial and full refunds, payouts,
multi-currency fee transactions, retries of earlier references, reused references with
another body, and invalid transactions (unbalanced, single posting, zero posting, currency
mismatch, unknown account, overdrawn payable, refund beyond the sale). Each operation runs
in its own database transaction, which *commits even when the post was refused*: so a
refusal proves that nothing was written, not merely that a rollback cleaned up.

After every operation, from the database:
* debits == credits in every currency (trial balance);
* no non-negative account is below zero;
* every account's balance equals an independent in-memory model (which computes fees and
  refund shares with its own arithmetic), and the numbers of transactions and postings
  match the model's;
and, at random points, balances "as of" an earlier instant equal the model's snapshot then.

Size: runs of ``max_examples=15`` x ``stateful_step_count=60`` (about 700 operations each)
repeated until at least 2,000 operations ran (so 2,000-2,700; each is followed by the
invariant check).
Measured on the shared 2-core development box (load average 4-5 from parallel work): about
40 s on PostgreSQL and 60 s on SQLite (aiosqlite's thread hop per statement costs more).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from shopreel.config import Settings
from shopreel.errors import ShopReelError
from shopreel.kit.time import set_clock
from shopreel.ledger import service
from shopreel.ledger.errors import (
    AccountNotFound,
    InsufficientBalance,
    InvalidTransaction,
    ReferenceReused,
    RefundExceedsSale,
)
from shopreel.ledger.maintenance import wipe_ledger_for_tests
from shopreel.ledger.models import LedgerPosting, LedgerTransaction
from shopreel.ledger.rules import AccountRef, PostingDraft, TransactionDraft
from shopreel.planes import Databases, regional
from tests.ledger.helpers import REGION

MAX_EXAMPLES = 15  # per run of the machine
STEPS = 60
MIN_OPERATIONS = 2_000
MAX_RUNS = 8

US = regional(REGION)
SHOPS = ("shp_a", "shp_b", "shp_c")
CURRENCIES = ("USD", "EUR")
JURISDICTIONS = ("US-CA", "US-NY")
T = TypeVar("T")

# The oracle's own view of the chart: which accounts count up on the debit side, and which
# may never go below zero. Deliberately not imported from shopreel.ledger.chart.
DEBIT_NORMAL = {"buyer_clearing", "commission_refunds", "payment_fees"}
NON_NEGATIVE = {"seller_payable", "shipping_payable", "tax_payable"}

Key = tuple[str, str, str]  # code, owner, currency
Line = tuple[str, str, str, int]  # code, owner, currency, signed amount (debit > 0)


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


@dataclass
class SoldModel:
    reference: str
    shop: str
    currency: str
    jurisdiction: str
    items: int
    shipping: int
    tax: int
    fee: int
    refunded_items: int = 0
    refunded_shipping: int = 0
    refunded_tax: int = 0
    refunded_fee: int = 0


@dataclass
class Posted:
    """A committed transaction as the model remembers it, to retry it later."""

    kind: str
    reference: str
    replay: Callable[[Any], Coroutine[Any, Any, Any]]  # posts the same request again
    reuse: Callable[[Any], Coroutine[Any, Any, Any]]  # posts another body, same reference


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    databases: Databases
    operations: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    now: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    async def wipe(self) -> None:
        async with self.databases.engine(US).begin() as conn:
            await wipe_ledger_for_tests(conn)


HARNESS: Harness | None = None
_references = itertools.count(1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        assert HARNESS is not None
        self.h = HARNESS
        self.balances: dict[Key, int] = {}
        self.transactions = 0
        self.postings = 0
        self.sales: list[SoldModel] = []
        self.posted: list[Posted] = []
        self.snapshots: list[tuple[datetime, dict[Key, int]]] = []

    @initialize()
    def start_empty(self) -> None:
        self.h.run(self.h.wipe())

    # ---- plumbing --------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every operation happens one second after the previous one."""
        self.h.now += timedelta(seconds=1)
        self.h.operations += 1

    def _attempt(self, action: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        """Run ``action(session)`` in a transaction that commits even if it was refused;
        returns the result or the ShopReelError raised."""

        async def go() -> Any:
            async with self.h.databases.transaction(US) as session:
                try:
                    return await action(session)
                except ShopReelError as error:
                    return error

        outcome = self.h.run(go())
        if isinstance(outcome, ShopReelError):
            self.h.refused[outcome.code] = self.h.refused.get(outcome.code, 0) + 1
        return outcome

    def _expect_refused(
        self, outcome: Any, kind: type[ShopReelError], code: str | None = None
    ) -> None:
        assert isinstance(outcome, kind), f"expected {kind.__name__}, got {outcome!r}"
        if code is not None:
            assert outcome.code == code

    def _overdraws(self, lines: list[Line]) -> bool:
        after = dict(self.balances)
        for code, owner, currency, amount in lines:
            key = (code, owner, currency)
            after[key] = after.get(key, 0) + (amount if code in DEBIT_NORMAL else -amount)
        return any(after[k] < 0 for k in after if k[0] in NON_NEGATIVE)

    def _apply(self, lines: list[Line]) -> None:
        lines = [line for line in lines if line[3] != 0]
        for code, owner, currency, amount in lines:
            key = (code, owner, currency)
            self.balances[key] = self.balances.get(key, 0) + (
                amount if code in DEBIT_NORMAL else -amount
            )
        self.transactions += 1
        self.postings += len(lines)
        self.snapshots.append((self.h.now, dict(self.balances)))

    def _reference(self, kind: str) -> str:
        return f"{kind}:{next(_references)}"

    # ---- business events -------------------------------------------------------------------

    @rule(
        shop=st.sampled_from(SHOPS),
        currency=st.sampled_from(CURRENCIES),
        jurisdiction=st.sampled_from(JURISDICTIONS),
        items=st.integers(0, 50_000),
        shipping=st.sampled_from([0, 0, 499, 1_250]),
        tax=st.integers(0, 4_000),
        rate=st.sampled_from([0, 800, 1_234, 10_000]) | st.integers(0, 10_000),
    )
    def sale(
        self,
        shop: str,
        currency: str,
        jurisdiction: str,
        items: int,
        shipping: int,
        tax: int,
        rate: int,
    ) -> None:
        self._tick()
        reference = self._reference("sale")
        kwargs = {
            "reference": reference,
            "order_id": f"ord_{reference}",
            "payment_id": None,
            "shop_id": shop,
            "currency": currency,
            "items_cents": items,
            "shipping_cents": shipping,
            "tax_cents": tax,
            "tax_jurisdiction": jurisdiction,
            "referral_rate_bps": rate,
        }
        outcome = self._attempt(lambda s: service.record_sale(s, **kwargs))
        total = items + shipping + tax
        if total == 0:
            self._expect_refused(outcome, InvalidTransaction, "ledger_invalid_amount")
            return
        assert not isinstance(outcome, ShopReelError), outcome
        fee = half_up(Fraction(items * rate, 10_000))
        self._apply(
            [
                ("buyer_clearing", "", currency, total),
                ("seller_payable", shop, currency, -(items - fee)),
                ("platform_commission", "", currency, -fee),
                ("shipping_payable", shop, currency, -shipping),
                ("tax_payable", jurisdiction, currency, -tax),
            ]
        )
        self.sales.append(
            SoldModel(reference, shop, currency, jurisdiction, items, shipping, tax, fee)
        )
        changed = {**kwargs, "items_cents": items + 1}
        self.posted.append(
            Posted(
                "sale",
                reference,
                # the same order retried after a rate change is still the same sale
                lambda s: service.record_sale(s, **{**kwargs, "referral_rate_bps": 77}),
                lambda s: service.record_sale(s, **changed),
            )
        )

    @precondition(lambda self: bool(self.sales))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        self._tick()
        sold = data.draw(st.sampled_from(self.sales))
        left_items = sold.items - sold.refunded_items
        left_shipping = sold.shipping - sold.refunded_shipping
        left_tax = sold.tax - sold.refunded_tax
        # mostly within what is left, sometimes the exact rest, sometimes beyond it
        items = data.draw(
            st.integers(0, left_items) | st.just(left_items) | st.just(left_items + 1)
        )
        shipping = data.draw(st.sampled_from([0, left_shipping, left_shipping + 1]))
        tax = data.draw(st.integers(0, left_tax) | st.just(left_tax + 1))
        reference = self._reference("refund")
        amounts = {"items_cents": items, "shipping_cents": shipping, "tax_cents": tax}
        outcome = self._attempt(
            lambda s: service.record_refund(
                s, reference=reference, sale_reference=sold.reference, **amounts
            )
        )
        if items + shipping + tax == 0:
            self._expect_refused(outcome, InvalidTransaction, "ledger_invalid_amount")
            return
        if items > left_items or shipping > left_shipping or tax > left_tax:
            self._expect_refused(outcome, RefundExceedsSale)
            return
        fee_after = (
            half_up(Fraction(sold.fee * (sold.refunded_items + items), sold.items))
            if sold.items
            else 0
        )
        fee_part = fee_after - sold.refunded_fee
        lines: list[Line] = [
            ("seller_payable", sold.shop, sold.currency, items - fee_part),
            ("commission_refunds", "", sold.currency, fee_part),
            ("shipping_payable", sold.shop, sold.currency, shipping),
            ("tax_payable", sold.jurisdiction, sold.currency, tax),
            ("buyer_clearing", "", sold.currency, -(items + shipping + tax)),
        ]
        if self._overdraws(lines):  # the seller was already paid out
            self._expect_refused(outcome, InsufficientBalance)
            return
        assert not isinstance(outcome, ShopReelError), outcome
        assert 0 <= fee_part <= items
        self._apply(lines)
        sold.refunded_items += items
        sold.refunded_shipping += shipping
        sold.refunded_tax += tax
        sold.refunded_fee += fee_part
        if sold.refunded_items == sold.items:
            assert sold.refunded_fee == sold.fee  # a complete refund returns the whole fee
        self.posted.append(
            Posted(
                "refund",
                reference,
                lambda s: service.record_refund(
                    s, reference=reference, sale_reference=sold.reference, **amounts
                ),
                lambda s: service.record_refund(
                    s,
                    reference=reference,
                    sale_reference=sold.reference,
                    **{**amounts, "tax_cents": tax + 1},
                ),
            )
        )

    @rule(
        shop=st.sampled_from(SHOPS),
        currency=st.sampled_from(CURRENCIES),
        fraction=st.floats(0.05, 1.3),
        shipping_too=st.booleans(),
    )
    def payout(self, shop: str, currency: str, fraction: float, shipping_too: bool) -> None:
        self._tick()
        owed = self.balances.get(("seller_payable", shop, currency), 0)
        shipping_owed = self.balances.get(("shipping_payable", shop, currency), 0)
        payable = max(1, int(owed * fraction))
        shipping = shipping_owed if shipping_too else 0
        reference = self._reference("payout")
        outcome = self._attempt(
            lambda s: service.record_payout(
                s,
                reference=reference,
                shop_id=shop,
                currency=currency,
                payable_cents=payable,
                shipping_cents=shipping,
            )
        )
        lines: list[Line] = [
            ("seller_payable", shop, currency, payable),
            ("shipping_payable", shop, currency, shipping),
            ("buyer_clearing", "", currency, -(payable + shipping)),
        ]
        if self._overdraws(lines):
            self._expect_refused(outcome, InsufficientBalance)
            return
        assert not isinstance(outcome, ShopReelError), outcome
        self._apply(lines)

    @rule(usd=st.integers(1, 500), eur=st.integers(1, 500))
    def provider_fees_in_two_currencies(self, usd: int, eur: int) -> None:
        """One hand-built transaction in two currencies, each balanced on its own."""
        self._tick()
        draft = TransactionDraft(
            "fee",
            self._reference("fee"),
            (
                PostingDraft(AccountRef("payment_fees", "USD"), usd, "USD"),
                PostingDraft(AccountRef("buyer_clearing", "USD"), -usd, "USD"),
                PostingDraft(AccountRef("payment_fees", "EUR"), eur, "EUR"),
                PostingDraft(AccountRef("buyer_clearing", "EUR"), -eur, "EUR"),
            ),
        )
        outcome = self._attempt(lambda s: service.post_opening(s, draft))
        assert not isinstance(outcome, ShopReelError), outcome
        self._apply(
            [
                ("payment_fees", "", "USD", usd),
                ("buyer_clearing", "", "USD", -usd),
                ("payment_fees", "", "EUR", eur),
                ("buyer_clearing", "", "EUR", -eur),
            ]
        )
        self.posted.append(
            Posted(
                "fee",
                draft.reference,
                lambda s: service.post(s, draft),
                lambda s: service.post(
                    s, TransactionDraft("fee", draft.reference, draft.postings[:2])
                ),
            )
        )

    # ---- retries and reused references ------------------------------------------------------

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        self._tick()
        earlier = data.draw(st.sampled_from(self.posted))
        outcome = self._attempt(earlier.replay)
        assert not isinstance(outcome, ShopReelError), outcome
        assert outcome.reference == earlier.reference and outcome.kind == earlier.kind

    @precondition(lambda self: bool(self.posted))
    @rule(data=st.data())
    def reuse_reference(self, data: st.DataObject) -> None:
        self._tick()
        earlier = data.draw(st.sampled_from(self.posted))
        outcome = self._attempt(earlier.reuse)
        self._expect_refused(outcome, ReferenceReused)

    # ---- invalid transactions ---------------------------------------------------------------

    @rule(
        shape=st.sampled_from(
            ["unbalanced", "single", "zero", "mismatch", "unknown_account", "overdraw"]
        ),
        amount=st.integers(1, 10_000),
        currency=st.sampled_from(CURRENCIES),
        shop=st.sampled_from(SHOPS),
    )
    def invalid_transaction(self, shape: str, amount: int, currency: str, shop: str) -> None:
        self._tick()
        clearing = AccountRef("buyer_clearing", currency)
        payable = AccountRef("seller_payable", currency, shop)
        other = "EUR" if currency == "USD" else "USD"
        postings: tuple[PostingDraft, ...]
        expected: tuple[type[ShopReelError], str]
        if shape == "unbalanced":
            postings = (
                PostingDraft(clearing, amount, currency),
                PostingDraft(payable, -(amount + 1), currency),
            )
            expected = (InvalidTransaction, "ledger_unbalanced")
        elif shape == "single":
            postings = (PostingDraft(clearing, amount, currency),)
            expected = (InvalidTransaction, "ledger_too_few_postings")
        elif shape == "zero":
            postings = (
                PostingDraft(clearing, amount, currency),
                PostingDraft(payable, -amount, currency),
                PostingDraft(payable, 0, currency),
            )
            expected = (InvalidTransaction, "ledger_zero_posting")
        elif shape == "mismatch":
            postings = (
                PostingDraft(clearing, amount, currency),
                PostingDraft(payable, -amount, other),
            )
            expected = (InvalidTransaction, "ledger_currency_mismatch")
        elif shape == "unknown_account":
            postings = (
                PostingDraft(clearing, amount, currency),
                PostingDraft(
                    AccountRef("seller_payable", currency, "shp_never"), -amount, currency
                ),
            )
            expected = (AccountNotFound, "ledger_account_not_found")
        else:  # debit a payable by more than it holds (against clearing, which exists once used)
            held = self.balances.get(("seller_payable", shop, currency))
            if held is None:
                return  # account never opened: covered by "unknown_account"
            postings = (
                PostingDraft(payable, held + amount, currency),
                PostingDraft(clearing, -(held + amount), currency),
            )
            expected = (InsufficientBalance, "ledger_insufficient_balance")
        draft = TransactionDraft("adjustment", self._reference("bad"), postings)
        outcome = self._attempt(lambda s: service.post(s, draft))
        self._expect_refused(outcome, *expected)

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def ledger_matches_the_model(self) -> None:
        async def read() -> tuple[Any, ...]:
            async with self.h.databases.session(US) as session:
                balances = await service.balances(session)
                trial = await service.trial_balance(session)
                counted = (
                    await session.execute(
                        select(
                            select(func.count()).select_from(LedgerTransaction).scalar_subquery(),
                            select(func.count()).select_from(LedgerPosting).scalar_subquery(),
                        )
                    )
                ).one()
                return balances, trial, tuple(counted)

        balances, trial, counted = self.h.run(read())
        for currency, line in trial.items():
            assert line.debits == line.credits, f"{currency} unbalanced: {line}"
        found: dict[Key, int] = {}
        for account, value in balances:
            found[(account.code, account.owner_id, account.currency)] = value
            if account.non_negative:
                assert value >= 0, f"{account.code}/{account.owner_id} below zero: {value}"
        # refused posts open no account either: the sets of accounts are equal too
        assert found == self.balances
        assert counted == (self.transactions, self.postings)

    @precondition(lambda self: len(self.snapshots) >= 2)
    @rule(data=st.data())
    def balance_as_of_an_earlier_instant(self, data: st.DataObject) -> None:
        self._tick()
        at, then = data.draw(st.sampled_from(self.snapshots[:-1]))
        # any instant before the next transaction sees the same balances
        instant = at + timedelta(milliseconds=data.draw(st.integers(0, 999)))

        async def read() -> dict[Key, int]:
            async with self.h.databases.session(US) as session:
                trial = await service.trial_balance(session, instant)
                assert all(line.balanced for line in trial.values())
                return {
                    (account.code, account.owner_id, account.currency): value
                    for account, value in await service.balances(session, instant)
                    if value
                }

        assert self.h.run(read()) == {k: v for k, v in then.items() if v}


@pytest.fixture
def harness(settings: Settings) -> Iterator[Harness]:
    """The machine runs synchronously (Hypothesis drives it), so it gets its own event loop
    and its own engines; the ledger is wiped before every example and after the test."""
    global HARNESS
    loop = asyncio.new_event_loop()
    h = Harness(loop, Databases(settings, pool_size=2))
    HARNESS = h
    set_clock(lambda: h.now)
    try:
        yield h
    finally:
        set_clock(None)
        HARNESS = None
        try:
            h.run(h.wipe())
            h.run(h.databases.dispose())
        finally:
            loop.close()


@pytest.mark.slow
def test_ledger_invariants_hold_across_thousands_of_operations(harness: Harness) -> None:
    # Hypothesis picks each example's length, so the machine runs until the operations
    # reach the target (three or four runs) rather than trusting one run's count.
    runs = 0
    while harness.operations < MIN_OPERATIONS and runs < MAX_RUNS:
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
        runs += 1
    assert harness.operations >= MIN_OPERATIONS, harness.operations
    # the refusals really happened, not only the happy paths
    for code in (
        "ledger_unbalanced",
        "ledger_too_few_postings",
        "ledger_zero_posting",
        "ledger_currency_mismatch",
        "ledger_account_not_found",
        "ledger_insufficient_balance",
        "ledger_reference_reused",
        "ledger_refund_exceeds_sale",
    ):
        assert harness.refused.get(code, 0) > 0, (code, harness.refused)
    print(
        f"ledger property test: {harness.operations} operations in {runs} runs, "
        f"refusals {harness.refused}"
    )
