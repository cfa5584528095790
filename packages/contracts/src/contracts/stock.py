"""Contracts produced by stock-import: the per-article stock aggregate over all suppliers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from contracts.registry import Contract, register
from contracts.types import AggregateVersion, ArticleNumber, Money


@register
class StockAvailabilityChanged(Contract):
    """The stock aggregate of an article changed (only sent when it really did): its full new state."""

    message_type: ClassVar[str] = "stock.availability.changed"
    schema_version: ClassVar[str] = "1.0"

    article_number: ArticleNumber
    """ERP article number."""
    sellable_qty: Annotated[int, Field(ge=0)]
    """Pieces sellable now, summed over active suppliers."""
    best_price: Money
    """Lowest purchase price among suppliers with stock, EUR."""
    next_delivery_date: date | None = None
    """Earliest announced delivery date, when a supplier gives one."""
    source_batch_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Import batch whose processing produced this state (for tracing and reconciliation)."""
    version: AggregateVersion
    """Aggregate version at stock-import, +1 per change of the aggregate."""

    def aggregate_id(self) -> str:
        """The article number."""
        return self.article_number

    def aggregate_version(self) -> int:
        """The stock aggregate's version."""
        return self.version


class FeedReceived(Contract):
    """A supplier feed was received and stored as an import batch; stock-import's worker imports it.

    Full feeds and corrections are two message types, so they route to two queues: a round of 50 full
    feeds on ``stock-import.bulk`` never delays a correction on ``stock-import.high-priority``.
    """

    batch_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """The import batch (status ``queued``) holding the stored file."""
    supplier_id: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    """Supplier whose feed it is."""
    file_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    """Name of the stored feed file."""

    def aggregate_id(self) -> str:
        """The import batch."""
        return self.batch_id

    def aggregate_version(self) -> int:
        """A batch is received once."""
        return 1


@register
class FullFeedReceived(FeedReceived):
    """A full feed: it replaces the supplier's offers (articles it does not list go to zero)."""

    message_type: ClassVar[str] = "stock.feed.full-received"
    schema_version: ClassVar[str] = "1.0"


@register
class CorrectionFeedReceived(FeedReceived):
    """A delta/correction feed: it updates only the offers it lists."""

    message_type: ClassVar[str] = "stock.feed.correction-received"
    schema_version: ClassVar[str] = "1.0"
