"""Message contracts of the islands: the envelope, versioned event/command models and their registry.

Importing the package registers every contract, so ``open_envelope`` knows them all.
"""

from contracts.catalog import ArticleDiscontinued, ArticleUpserted, ErpOrderDispatchRequested, ErpOrderStatusChanged
from contracts.envelope import Envelope, default_idempotency_key
from contracts.fitment import (
    AxleFitment,
    FitmentMapping,
    FitmentMappingChanged,
    FitmentRecomputeRequested,
    TyreExclusion,
    TyreSizeFitment,
    VehicleFitmentRecomputeRequested,
    VehicleVariantUpserted,
)
from contracts.orders import OrderLine, OrderPlaced, webshop_order_key
from contracts.platform import PlatformExportRequested, PlatformOrderImported, PlatformTrackingPushRequested
from contracts.registry import (
    REGISTRY,
    Contract,
    ContractError,
    ContractRegistry,
    ContractValidationError,
    FieldProblem,
    UnknownContractVersion,
    UnknownMessageType,
    open_envelope,
    register,
)
from contracts.stock import CorrectionFeedReceived, FeedReceived, FullFeedReceived, StockAvailabilityChanged
from contracts.wheel_sets import WheelSetRecomputeRequested

__all__ = [
    "REGISTRY",
    "ArticleDiscontinued",
    "ArticleUpserted",
    "AxleFitment",
    "Contract",
    "ContractError",
    "ContractRegistry",
    "ContractValidationError",
    "Envelope",
    "ErpOrderDispatchRequested",
    "ErpOrderStatusChanged",
    "FieldProblem",
    "FitmentMapping",
    "FitmentMappingChanged",
    "FitmentRecomputeRequested",
    "TyreExclusion",
    "TyreSizeFitment",
    "VehicleFitmentRecomputeRequested",
    "OrderLine",
    "OrderPlaced",
    "PlatformExportRequested",
    "PlatformOrderImported",
    "PlatformTrackingPushRequested",
    "StockAvailabilityChanged",
    "FeedReceived",
    "FullFeedReceived",
    "CorrectionFeedReceived",
    "UnknownContractVersion",
    "UnknownMessageType",
    "VehicleVariantUpserted",
    "WheelSetRecomputeRequested",
    "default_idempotency_key",
    "open_envelope",
    "webshop_order_key",
    "register",
]
