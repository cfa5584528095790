"""The worker's side of a received feed: import the batch its command names."""

from __future__ import annotations

from typing import cast

from contracts import FeedReceived
from integration_sdk.consumer import Exclusive, MessageContext
from integration_sdk.topology import BULK, HIGH_PRIORITY
from stock_import.imports.service import run_batch
from stock_import.settings import StockImportSettings


async def import_received_feed(command: FeedReceived, context: MessageContext) -> None:
    """Run the batch in the delivery's transaction: inbox claim, offers, aggregates, events, status."""
    settings = cast(StockImportSettings, context.outbox.settings)
    await run_batch(context.session, context.outbox, settings.feed_store_dir, command.batch_id)


HANDLERS = {
    BULK: {"stock.feed.full-received": Exclusive(import_received_feed)},
    HIGH_PRIORITY: {"stock.feed.correction-received": Exclusive(import_received_feed)},
}
