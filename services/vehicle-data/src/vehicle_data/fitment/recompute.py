"""The incremental fitment recompute: only the bucket intersections a change touches, never all x all.

Three ways in, all in the caller's transaction (an import chunk, a consumer delivery, a CLI page):

- ``recompute_vehicles``: a variant changed (sync, rules). Its axles, wheel bucket memberships and tyre
  size fits are derived again and its wheels found by the bucket join (its buckets x their wheels).
  Scoped to some tyre buckets or one article (a rule change), only that part is recomputed and written.
- ``recompute_articles``: product specs changed. The articles' bucket memberships are replaced and
  their intersections recomputed: the variants in their wheel buckets, the variants that had them,
  the variants whose rules name them. Tyres fit by size, so a tyre's spec change only moves its
  memberships (and touches the mapping only where a rule names it).
- ``process_pending``: the durable work list (``fitment_pending``) one chunk at a time, variants first.
  A flood of article changes (a first catalogue load) is folded into variant recomputes, so each
  variant gets one full state instead of thousands of small changes.

Every recompute diffs what it computed with what is stored and writes only the difference (unchanged
rows keep their ``computed_at``). Each variant that changed gets ``version + 1`` and one
``fitment.mapping.changed`` in the outbox: the full state after a whole-variant recompute, the change
otherwise. Versions are locked first, in key order, so two recomputes of one variant run one after the
other and hand out consecutive versions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts import FitmentMapping, FitmentMappingChanged, TyreExclusion, TyreSizeFitment
from foundation.bulk import chunked, utc_now
from integration_sdk import metrics
from integration_sdk.outbox import Outbox
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.derived import (
    Rule,
    Size,
    apply_article_rules,
    axle_size_rows,
    axles_of,
    product_tyre_buckets,
    product_wheel_bucket_rows,
    tyre_bucket_key,
    tyre_bucket_row,
    tyre_exclusions,
    tyre_fits,
    wheel_bucket_rows,
)
from vehicle_data.fitment.rules import Axle, combine_axles
from vehicle_data.tables import (
    product_tyre_bucket,
    product_wheel_bucket,
    vehicle_axle_size,
    vehicle_tyre_bucket,
    vehicle_tyre_exclusion,
    vehicle_wheel_bucket,
)

ISLAND = "vehicle-data"
VEHICLE_CHUNK = 200
BUCKET_CHUNK = 1_000  # a tyre bucket's step: a variant's part of one bucket is a row or two, not hundreds
ARTICLE_CHUNK = 500
FOLD_ABOVE = 5_000  # more pending articles than this are folded into variant recomputes
TYRE_COLUMNS = ("width", "aspect", "rim_diameter", "base_score", "is_original_equipment", "min_load_index",
                "reference_speed_rating", "reference_run_flat", "origin")  # fmt: skip


COUNTS = (
    "vehicles", "articles", "articles_folded", "tyre_rows_evaluated", "mapping_rows_evaluated", "tyre_rows_written",
    "tyre_rows_removed", "mapping_rows_written", "mapping_rows_removed", "events",
)  # fmt: skip


@dataclass
class RecomputeReport:
    """What a recompute did (what the tests and the benchmark observe)."""

    vehicles: int = 0
    articles: int = 0
    articles_folded: int = 0
    tyre_rows_evaluated: int = 0
    mapping_rows_evaluated: int = 0
    tyre_rows_written: int = 0
    tyre_rows_removed: int = 0
    mapping_rows_written: int = 0
    mapping_rows_removed: int = 0
    events: int = 0
    tyre_buckets_written: set[str] = field(default_factory=set)
    changed_vehicles: set[int] = field(default_factory=set)

    def add(self, other: RecomputeReport) -> None:
        """Fold another report into this one."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tyre_buckets_written |= other.tyre_buckets_written
        self.changed_vehicles |= other.changed_vehicles

    def record_metrics(self) -> None:
        """Count this recompute's rows on ``projection_recompute_rows_total`` (domain ``fitment``)."""
        for kind, outcome, value in (
            ("variant", "evaluated", self.vehicles), ("article", "evaluated", self.articles),
            ("tyre_size", "evaluated", self.tyre_rows_evaluated), ("tyre_size", "written", self.tyre_rows_written),
            ("tyre_size", "removed", self.tyre_rows_removed), ("mapping", "evaluated", self.mapping_rows_evaluated),
            ("mapping", "written", self.mapping_rows_written), ("mapping", "removed", self.mapping_rows_removed),
        ):  # fmt: skip
            if value:
                metrics.RECOMPUTE_ROWS.labels(ISLAND, "fitment", kind, outcome).inc(value)


@dataclass
class VariantChange:
    """What changed of one variant's announced fitment in this recompute."""

    tyre_sizes: bool = False
    exclusions: bool = False
    upserted: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return self.tyre_sizes or self.exclusions or bool(self.upserted) or bool(self.removed)


def _mapping_row(variant_id: int, article: str, product_type: str, fits: Mapping[str, Any]) -> dict[str, Any] | None:
    match = combine_axles(dict(fits))
    if match is None:
        return None
    return {"vehicle_variant_id": variant_id, "article_number": article, "product_type": product_type,
            "position": match.position, "is_original_equipment": match.is_original_equipment,
            "match_score": match.score}  # fmt: skip


def _differs(stored: Mapping[str, Any], desired: Mapping[str, Any], columns: Iterable[str]) -> bool:
    return any(stored[name] != desired[name] for name in columns)


async def _write_tyre_diff(
    conn: AsyncConnection,
    stored: Mapping[tuple[str, int, str], Mapping[str, Any]],
    desired: Mapping[tuple[str, int, str], dict[str, Any]],
    changes: dict[int, VariantChange],
    report: RecomputeReport,
) -> None:
    now = utc_now()
    writes = [{**row, "computed_at": now} for key, row in desired.items()
              if key not in stored or _differs(stored[key], row, TYRE_COLUMNS)]  # fmt: skip
    removed = [key for key in stored if key not in desired]
    for chunk in chunked(removed, repo.KEY_CHUNK):
        await conn.execute(sa.delete(vehicle_tyre_bucket).where(
            sa.tuple_(vehicle_tyre_bucket.c.tyre_bucket, vehicle_tyre_bucket.c.vehicle_variant_id,
                      vehicle_tyre_bucket.c.axle).in_(chunk)))  # fmt: skip
    if writes:
        await repo.upsert_rows(conn, vehicle_tyre_bucket, writes)
    for row in writes:
        changes[row["vehicle_variant_id"]].tyre_sizes = True
        report.tyre_buckets_written.add(row["tyre_bucket"])
    for bucket, variant_id, _ in removed:
        changes[variant_id].tyre_sizes = True
        report.tyre_buckets_written.add(bucket)
    report.tyre_rows_written += len(writes)
    report.tyre_rows_removed += len(removed)


async def _write_mapping_diff(
    conn: AsyncConnection,
    stored: Mapping[repo.MappingKey, Mapping[str, Any]],
    desired: Mapping[repo.MappingKey, dict[str, Any]],
    changes: dict[int, VariantChange],
    report: RecomputeReport,
) -> None:
    now = utc_now()
    writes = [{**row, "computed_at": now} for key, row in desired.items()
              if key not in stored or _differs(stored[key], row, repo.MAPPING_COLUMNS)]  # fmt: skip
    removed = [key for key in stored if key not in desired]
    await repo.write_mappings(conn, writes, removed)
    for row in writes:
        changes[row["vehicle_variant_id"]].upserted[row["article_number"]] = row
    for variant_id, article in removed:
        changes[variant_id].removed.add(article)
    report.mapping_rows_written += len(writes)
    report.mapping_rows_removed += len(removed)


async def _write_exclusion_diff(
    conn: AsyncConnection,
    variant_ids: Collection[int],
    desired: set[tuple[int, str, str]],
    changes: dict[int, VariantChange],
) -> None:
    stored = await repo.stored_exclusions(conn, variant_ids)
    if stored == desired:
        return
    await repo.replace_rows(
        conn,
        vehicle_tyre_exclusion,
        "vehicle_variant_id",
        variant_ids,
        [{"vehicle_variant_id": v, "axle": axle, "article_number": a} for v, axle, a in desired],
    )
    for variant_id, *_ in stored ^ desired:
        changes[variant_id].exclusions = True


def _tyre_size_entries(rows: Iterable[Mapping[str, Any]]) -> list[TyreSizeFitment]:
    return [
        TyreSizeFitment(axle=row["axle"], width=row["width"], aspect=row["aspect"], rim_diameter=row["rim_diameter"],
                        base_score=row["base_score"], is_original_equipment=row["is_original_equipment"],
                        min_load_index=row["min_load_index"], reference_speed_rating=row["reference_speed_rating"],
                        reference_run_flat=row["reference_run_flat"])
        for row in sorted(rows, key=lambda r: (r["axle"], r["width"], r["aspect"], r["rim_diameter"]))
    ]  # fmt: skip


def _mapping_entries(rows: Iterable[Mapping[str, Any]]) -> list[FitmentMapping]:
    return [
        (row["article_number"], row["product_type"], row["position"], bool(row["is_original_equipment"]),
         row["match_score"])
        for row in sorted(rows, key=lambda r: r["article_number"])
    ]  # fmt: skip


@dataclass
class FullState:
    """A variant's complete announced fitment (for a replacing event)."""

    tyre_rows: list[dict[str, Any]] = field(default_factory=list)
    exclusions: list[tuple[str, str]] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)


async def _announce(
    session: AsyncSession,
    outbox: Outbox,
    versions: Mapping[int, int],
    changes: Mapping[int, VariantChange],
    *,
    full: Mapping[int, FullState] | None,
    correlation_id: str | None,
    report: RecomputeReport,
) -> None:
    """Version + 1 and one event for every variant that changed: its full state (``full``) or the change."""
    changed = sorted(variant_id for variant_id, change in changes.items() if change)
    if not changed:
        return
    conn = await session.connection()
    new_versions = {variant_id: versions[variant_id] + 1 for variant_id in changed}
    await repo.save_versions(conn, new_versions)
    if full is None:  # a change: the complete tyre sizes and exclusions of the variants where they changed
        tyres = await repo.tyre_rows_by_variant(conn, [v for v in changed if changes[v].tyre_sizes])
        exclusions = await repo.exclusions_by_variant(conn, [v for v in changed if changes[v].exclusions])
    else:
        tyres = {v: full[v].tyre_rows for v in changed if v in full}
        exclusions = {v: full[v].exclusions for v in changed if v in full}
    events = []
    for variant_id in changed:
        change = changes[variant_id]
        replace = full is not None
        events.append(FitmentMappingChanged(
            vehicle_variant_id=variant_id, version=new_versions[variant_id], replace=replace,
            tyre_sizes=_tyre_size_entries(tyres.get(variant_id, [])) if replace or change.tyre_sizes else None,
            tyre_exclusions=[TyreExclusion(axle=axle, article_number=article)
                             for axle, article in sorted(exclusions.get(variant_id, []))]
            if replace or change.exclusions else None,
            mappings_upserted=_mapping_entries(full[variant_id].mappings if full is not None and variant_id in full
                                               else [] if replace else change.upserted.values()),
            mappings_removed=[] if replace else sorted(change.removed),
        ))  # fmt: skip
    for chunk in chunked(events, 500):
        await outbox.add_many(session, chunk, correlation_id=correlation_id)
    report.events += len(events)
    report.changed_vehicles.update(changed)


async def recompute_vehicles(
    session: AsyncSession,
    outbox: Outbox,
    vehicle_ids: Collection[int],
    *,
    tyre_buckets: Collection[str] | None = None,
    article: str | None = None,
    correlation_id: str | None = None,
) -> RecomputeReport:
    """Recompute the fitment of these variants (all of it, or only some tyre buckets, or one article)."""
    report = RecomputeReport(vehicles=len(vehicle_ids))
    if not vehicle_ids:
        return report
    conn = await session.connection()
    whole = tyre_buckets is None and article is None
    if whole:  # it writes the variants' wheel buckets: not while an article's buckets are refreshed
        await repo.guard_product_buckets(conn, exclusive=False)
    versions = await repo.lock_versions(conn, vehicle_ids)
    sources = await repo.variants_with_fitments(conn, vehicle_ids)
    rules = await repo.active_rules(conn, vehicle_ids)
    axles: dict[int, dict[str, Axle]] = {v: axles_of(*sources[v]) for v in sources}
    ids = sorted(vehicle_ids)
    if whole:  # listed wheel sizes and wheel memberships: internal, replaced as they are derived
        await repo.replace_rows(conn, vehicle_axle_size, "vehicle_variant_id", ids,
                                [row for v, a in axles.items() for row in axle_size_rows(v, a)])  # fmt: skip
        await repo.replace_rows(conn, vehicle_wheel_bucket, "vehicle_variant_id", ids,
                                [row for v, a in axles.items() for row in wheel_bucket_rows(v, a)])  # fmt: skip
    changes: dict[int, VariantChange] = defaultdict(VariantChange)

    # A bucket-scoped recompute needs only its buckets' sizes, but an article rule needs them all.
    only = _bucket_sizes(tyre_buckets) if article is None else None
    size_fits = {v: tyre_fits(axles[v], rules.get(v, []), None if _names_articles(rules.get(v, [])) else only)
                 for v in axles}  # fmt: skip
    full: dict[int, FullState] | None = {v: FullState() for v in ids} if whole else None
    if article is None:
        desired_tyres = {}
        for v, variant_size_fits in size_fits.items():
            for (axle, _), (fit, origin) in variant_size_fits.items():
                row = tyre_bucket_row(v, axle, fit, origin)
                if tyre_buckets is None or row["tyre_bucket"] in tyre_buckets:
                    desired_tyres[(row["tyre_bucket"], v, axle)] = row
                if full is not None:
                    full[v].tyre_rows.append(row)
        stored_tyres = await repo.stored_tyre_rows(conn, ids, tyre_buckets)
        report.tyre_rows_evaluated += len(desired_tyres.keys() | stored_tyres.keys())
        await _write_tyre_diff(conn, stored_tyres, desired_tyres, changes, report)

    named = _named(rules) | ({article} if article is not None else set())
    named_specs = await repo.product_specs(conn, named)
    # The articles whose rows this recompute owns: all; one article; or, for a size rule, the articles the
    # variant's rules name (whether an included tyre needs its own row depends on the sizes).
    scope = None if whole else {article} if article is not None else named
    fits = await repo.wheel_fits(conn, vehicle_ids=ids, article_numbers=scope) if scope != set() else {}
    desired = _desired_mappings(fits, axles, rules, named_specs, size_fits, scope)
    report.mapping_rows_evaluated += sum(len(f) for f in fits.values())
    stored = await repo.stored_mappings(conn, vehicle_ids=ids, article_numbers=scope)
    await _write_mapping_diff(conn, stored, desired, changes, report)
    exclusions = _desired_exclusions(axles, rules, named_specs)
    await _write_exclusion_diff(conn, ids, exclusions, changes)
    if full is not None:
        for (v, _), row in desired.items():
            full[v].mappings.append(row)
        for v, axle, a in exclusions:
            full[v].exclusions.append((axle, a))

    await _announce(session, outbox, versions, changes, full=full, correlation_id=correlation_id, report=report)
    return report


def _bucket_sizes(tyre_buckets: Collection[str] | None) -> set[tuple[str, Size]] | None:
    """The (axle, size) keys of these tyre buckets (None: not scoped, or a bucket not of that form)."""
    keys = [tyre_bucket_key(bucket) for bucket in tyre_buckets] if tyre_buckets is not None else [None]
    return None if None in keys else {key for key in keys if key is not None}


def _names_articles(rules: list[Rule]) -> bool:
    return any(rule.article_number is not None for rule in rules)


def _named(rules: Mapping[int, list[Rule]]) -> set[str]:
    """Articles the rules name."""
    return {rule.article_number for rs in rules.values() for rule in rs if rule.article_number is not None}


def _desired_exclusions(
    axles: Mapping[int, Mapping[str, Axle]], rules: Mapping[int, list[Rule]], specs: Mapping[str, Mapping[str, Any]]
) -> set[tuple[int, str, str]]:
    """(variant, axle, article) of excluded tyres; an article not known yet counts as a tyre until it is."""
    tyres = {a for a in _named(rules) if a not in specs or specs[a]["product_type"] == "tyre"}
    return {(v, axle, a) for v in axles for axle, a in tyre_exclusions(axles[v], rules.get(v, []), tyres)}


def _desired_mappings(
    fits: repo.AxleFits,
    axles: Mapping[int, Mapping[str, Axle]],
    rules: Mapping[int, list[Rule]],
    specs: Mapping[str, Mapping[str, Any]],
    size_fits: Mapping[int, Any],
    only: Collection[str] | None,
) -> dict[repo.MappingKey, dict[str, Any]]:
    """Mapping rows of the wheels' fits, with the article rules of each variant applied (``only``: scope)."""
    desired: dict[repo.MappingKey, dict[str, Any]] = {}
    keys = set(fits)
    for variant_id, variant_rules in rules.items():
        keys |= {(variant_id, r.article_number) for r in variant_rules if r.article_number is not None
                 and r.article_number in specs and (only is None or r.article_number in only)}  # fmt: skip
    for variant_id, article in keys:
        axle_fits = fits.get((variant_id, article), {})
        variant_rules = rules.get(variant_id, [])
        product_type = "wheel"
        if any(rule.article_number == article for rule in variant_rules) and variant_id in axles:
            spec = specs[article]
            product_type = spec["product_type"]
            axle_fits = apply_article_rules(axle_fits, axles[variant_id], variant_rules, spec, size_fits[variant_id])
        row = _mapping_row(variant_id, article, product_type, axle_fits)
        if row is not None:
            desired[(variant_id, article)] = row
    return desired


async def refresh_product_buckets(conn: AsyncConnection, article_numbers: Collection[str]) -> set[int]:
    """Replace the articles' bucket memberships; the variants their change may concern."""
    await repo.guard_product_buckets(conn, exclusive=True)
    specs = await repo.product_specs(conn, article_numbers)
    numbers = sorted(article_numbers)
    await repo.replace_rows(conn, product_tyre_bucket, "article_number", numbers,
                            [{"tyre_bucket": b, "article_number": a} for a in numbers if a in specs
                             for b in product_tyre_buckets(specs[a])])  # fmt: skip
    wheel_rows = [row for a in numbers if a in specs for row in product_wheel_bucket_rows(specs[a])]
    await repo.replace_rows(conn, product_wheel_bucket, "article_number", numbers, wheel_rows)
    affected = await repo.variants_in_wheel_buckets(conn, {row["wheel_bucket"] for row in wheel_rows})
    affected |= await repo.variants_mapped_to(conn, numbers)
    affected |= await repo.variants_with_article_rules(conn, numbers)
    return affected


async def recompute_articles(
    session: AsyncSession, outbox: Outbox, article_numbers: Collection[str], *, correlation_id: str | None = None
) -> RecomputeReport:
    """Recompute the bucket intersections of these articles (their specs changed, or they ended)."""
    report = RecomputeReport(articles=len(article_numbers))
    if not article_numbers:
        return report
    conn = await session.connection()
    affected = await refresh_product_buckets(conn, article_numbers)
    versions = await repo.lock_versions(conn, affected)
    numbers = sorted(article_numbers)
    fits = await repo.wheel_fits(conn, article_numbers=numbers)
    with_rules = await repo.variants_with_article_rules(conn, numbers)
    rules = await repo.active_rules(conn, with_rules)
    sources = await repo.variants_with_fitments(conn, with_rules)
    axles = {v: axles_of(*sources[v]) for v in sources}
    size_fits = {v: tyre_fits(axles[v], rules.get(v, [])) for v in axles}
    specs = await repo.product_specs(conn, numbers)  # only these: rules naming other articles stay as they are
    desired = _desired_mappings(fits, axles, rules, specs, size_fits, None)
    report.mapping_rows_evaluated += sum(len(f) for f in fits.values())
    stored = await repo.stored_mappings(conn, article_numbers=numbers)
    changes: dict[int, VariantChange] = defaultdict(VariantChange)
    await _write_mapping_diff(conn, stored, desired, changes, report)
    if with_rules:  # an excluded article's spec decides whether it is a tyre exclusion
        exclusions = _desired_exclusions(axles, rules, await repo.product_specs(conn, _named(rules)))
        await _write_exclusion_diff(conn, sorted(with_rules), exclusions, changes)
    await _announce(session, outbox, versions, changes, full=None, correlation_id=correlation_id, report=report)
    return report


async def process_pending(
    session: AsyncSession, outbox: Outbox, *, correlation_id: str | None = None, fold_above: int = FOLD_ABOVE
) -> tuple[RecomputeReport, bool]:
    """Work off one chunk of ``fitment_pending``; (what it did, whether work remains)."""
    conn = await session.connection()
    report = RecomputeReport()
    counts = await repo.pending_counts(conn)
    # The guard before the claim, so that no recompute waits for it while holding claimed rows.
    await repo.guard_product_buckets(conn, exclusive=counts[repo.ARTICLE] > fold_above or not counts[repo.VEHICLE])
    if counts[repo.ARTICLE] > fold_above:  # a flood: fold it all (the last part too, not as small changes)
        limit = fold_above if counts[repo.ARTICLE] > 2 * fold_above else counts[repo.ARTICLE]
        keys = await repo.claim_pending(conn, repo.ARTICLE, limit)
        affected = await refresh_product_buckets(conn, keys)
        await repo.add_pending(conn, repo.VEHICLE, affected)
        report.articles_folded = claimed = len(keys)
    elif counts[repo.VEHICLE]:
        ids = [int(key) for key in await repo.claim_pending(conn, repo.VEHICLE, VEHICLE_CHUNK)]
        report = await recompute_vehicles(session, outbox, ids, correlation_id=correlation_id)
        claimed = len(ids)
    else:
        keys = await repo.claim_pending(conn, repo.ARTICLE, ARTICLE_CHUNK)
        report = await recompute_articles(session, outbox, keys, correlation_id=correlation_id)
        claimed = len(keys)
    if not claimed:  # what is listed is held by another recompute, which goes on with the rest
        return report, False
    left = await repo.pending_counts(conn)
    return report, left[repo.VEHICLE] + left[repo.ARTICLE] > 0
