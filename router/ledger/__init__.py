"""The usage ledger: every model request's usage and cost, kept in a rolling store (memory per
process, or Redis shared by every replica), the spend that budgets count, and the queries
`router usage` and the dashboard make.

    router.observe.exchange ── UsageEntry ──► Ledger.record (queues, never blocks)
    router.gateway.budgets ──► BudgetBook.status ──► Ledger.spent
    GET /admin/usage ──► Ledger.totals
"""

from router.ledger.budgets import BudgetBook, BudgetStatus
from router.ledger.choice import ledger_matches, open_ledger
from router.ledger.ledger import Ledger, LedgerUnavailable, UsageTotals
from router.ledger.memory import MemoryLedger

__all__ = ["BudgetBook", "BudgetStatus", "Ledger", "LedgerUnavailable", "MemoryLedger", "UsageTotals", "ledger_matches", "open_ledger"]
