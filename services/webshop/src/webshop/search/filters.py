"""Query parameters of product search, validated in two steps.

Types and ranges are checked by pydantic (FastAPI answers 422 with the field). What only makes sense
together (a filter of another product type, min above max, an unknown sort) is checked by ``checked``
and answered with a 400 ``invalid_filter`` naming the field, so a storefront can show which filter to drop.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from foundation.errors import ApiError

ProductType = Literal["tyre", "wheel", "tpms"]
Season = Literal["summer", "winter", "all_season"]
EuLabel = Literal["A", "B", "C", "D", "E"]
SpeedRating = Literal["Q", "R", "S", "T", "H", "V", "W", "Y"]
Material = Literal["alloy", "steel"]

SPEED_ORDER: tuple[str, ...] = ("Q", "R", "S", "T", "H", "V", "W", "Y")
EU_ORDER: tuple[str, ...] = ("A", "B", "C", "D", "E")
SORTS: tuple[str, ...] = ("availability", "price", "-price", "brand")
DEFAULT_SORT = "availability"

# Which product types each type-specific filter applies to; the rest apply to every type.
TYRE_ONLY = (
    "width", "aspect", "season", "min_load_index", "min_speed_rating", "run_flat", "xl", "three_pmsf",
    "max_eu_fuel", "max_eu_wet", "max_noise_db",
)  # fmt: skip
WHEEL_ONLY = ("bolt_count", "pcd", "wheel_width", "min_offset", "max_offset", "min_center_bore", "material")
APPLIES_TO: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(TYRE_ONLY, ("tyre",)),
    **dict.fromkeys(WHEEL_ONLY, ("wheel",)),
    "diameter": ("tyre", "wheel"),
    "make": ("tpms",),
}
# Parameters that shape the page, not the result set: left out of the filter fingerprint.
PAGING = frozenset({"sort", "limit", "cursor", "facets"})

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SearchParams(BaseModel):
    """``GET /api/v1/products`` query parameters (repeat ``season`` and ``brand`` for several values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ProductType | None = Field(None, description="Product type; required unless `q` is given.")
    q: Text | None = Field(None, description='Prefix of brand, or brand and model: "Mich", "Michelin Pilot".')
    brand: list[Text] = Field(default_factory=list, max_length=50, description="Exact brand names (any of).")
    in_stock: bool | None = Field(None, description="true: sellable now; false: out of stock.")
    diameter: int | None = Field(None, ge=10, le=30, description="Rim diameter (tyres) or wheel diameter, inch.")
    # tyres
    width: int | None = Field(None, ge=100, le=400, description="Tyre width, mm.")
    aspect: int | None = Field(None, ge=20, le=100, description="Aspect ratio, %.")
    season: list[Season] = Field(default_factory=list, max_length=3)
    min_load_index: int | None = Field(None, ge=50, le=130)
    min_speed_rating: SpeedRating | None = Field(None, description="Q<R<S<T<H<V<W<Y; this rating or higher.")
    run_flat: bool | None = None
    xl: bool | None = None
    three_pmsf: bool | None = Field(None, description="Three-peak mountain snowflake (winter certified).")
    max_eu_fuel: EuLabel | None = Field(None, description="This EU fuel class or better (A best).")
    max_eu_wet: EuLabel | None = Field(None, description="This EU wet grip class or better (A best).")
    max_noise_db: int | None = Field(None, ge=50, le=90)
    # wheels
    bolt_count: int | None = Field(None, ge=3, le=10)
    pcd: Annotated[Decimal, Field(ge=80, le=250, max_digits=5, decimal_places=1)] | None = None
    wheel_width: Annotated[Decimal, Field(ge=3, le=15, max_digits=3, decimal_places=1)] | None = None
    min_offset: int | None = Field(None, ge=-100, le=150, description="Lowest ET, mm.")
    max_offset: int | None = Field(None, ge=-100, le=150, description="Highest ET, mm.")
    min_center_bore: Annotated[Decimal, Field(ge=40, le=200, max_digits=4, decimal_places=1)] | None = Field(
        None, description="The vehicle's hub bore: wheels with this bore or bigger fit (with a centring ring)."
    )
    material: Material | None = None
    # tpms
    make: Text | None = Field(None, description="Vehicle make the sensor is compatible with.")
    # paging
    sort: str = Field(DEFAULT_SORT, max_length=20, description="availability | price | -price | brand")
    limit: int = Field(24, ge=1, le=100)
    cursor: str | None = Field(None, max_length=2000, description="`next_cursor` of the previous page.")
    facets: bool | None = Field(None, description="Facet counts; default: on the first page only.")

    def filters(self) -> dict[str, Any]:
        """The filters that were set, by name (paging parameters left out)."""
        values = ((name, getattr(self, name)) for name in FILTERS)
        return {name: value for name, value in values if value is not None and value != []}

    def fingerprint(self) -> str:
        """A short stable hash of the filter set: binds a cursor and a cached facet answer to it."""
        canonical = {name: sorted(v) if isinstance(v, list) else v for name, v in self.filters().items()}
        text = json.dumps(canonical, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @property
    def wants_facets(self) -> bool:
        """Facets when asked, else only on the first page."""
        return self.facets if self.facets is not None else self.cursor is None


FILTERS = tuple(name for name in SearchParams.model_fields if name not in PAGING)


def invalid(field: str, value: Any, problem: str, message: str | None = None) -> ApiError:
    """The 400 of a filter that is well-typed but makes no sense here."""
    detail = {"field": field, "value": value, "problem": problem}
    return ApiError(400, "invalid_filter", message or f"Filter {field!r}: {problem}", details=[detail])


def checked(params: SearchParams) -> SearchParams:
    """``params`` if its filters make sense together, else the ApiError naming every offending field."""
    problems: list[dict[str, Any]] = []

    def problem(field: str, value: Any, text: str) -> None:
        problems.append({"field": field, "value": value, "problem": text})

    if params.type is None and params.q is None:
        problem("type", None, "required unless q is given (tyre, wheel or tpms)")
    for name, value in params.filters().items():
        types = APPLIES_TO.get(name)
        if types is None:
            continue
        if params.type is None:
            problem(name, _plain(value), f"applies to {' and '.join(types)} only: set type")
        elif params.type not in types:
            problem(name, _plain(value), f"applies to {' and '.join(types)} only, not to {params.type}")
    if params.min_offset is not None and params.max_offset is not None and params.min_offset > params.max_offset:
        problem("min_offset", params.min_offset, f"is above max_offset ({params.max_offset})")
    if params.sort not in SORTS:
        problem("sort", params.sort, f"unknown sort; one of {', '.join(SORTS)}")
    if problems:
        first = problems[0]
        message = f"Filter {first['field']!r}: {first['problem']}" + (
            f" (and {len(problems) - 1} more; see details)" if len(problems) > 1 else ""
        )
        raise ApiError(400, "invalid_filter", message, details=problems)
    return params


def _plain(value: Any) -> Any:
    """A JSON-friendly echo of the value that was sent."""
    if isinstance(value, Decimal):
        return str(value)
    return value
