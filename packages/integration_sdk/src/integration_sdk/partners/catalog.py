"""Articles as the ERP exports them: tyres, wheels and TPMS sensors with realistic specs.

Tyre sizes: vehicles are fitted from the factory with a few dozen popular sizes (``TYRE_SIZES``,
205/55R16 first), and the catalogue also carries the usual alternatives of each (``CATALOGUE_SIZES``).
A wholesaler's breadth per size grows much more slowly than demand: a few hundred articles of the most
popular size, tens of a rare one (``BREADTH_WEIGHTS``), while suppliers stock articles by demand
(``Article.popularity``). Seasons about 50/30/20 summer/winter/all-season; load index grows with
size; wheels carry the bolt patterns and centre bores of the makes they are made for, hub-centric or
needing a centring ring.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

# Sizes by popularity rank (width, aspect, rim). Vehicle OE fitments draw from the same table.
TYRE_SIZES: tuple[tuple[int, int, int], ...] = (
    (205, 55, 16), (225, 45, 17), (195, 65, 15), (225, 40, 18), (215, 55, 17), (205, 60, 16), (235, 45, 18),
    (225, 55, 17), (195, 55, 16), (185, 65, 15), (215, 60, 16), (225, 50, 17), (205, 50, 17), (245, 45, 18),
    (235, 55, 17), (215, 65, 16), (185, 60, 15), (175, 65, 14), (255, 35, 19), (245, 40, 18), (225, 35, 19),
    (235, 40, 19), (255, 40, 19), (275, 35, 19), (245, 35, 19), (275, 40, 20), (255, 45, 20), (235, 60, 18),
    (225, 65, 17), (215, 50, 18), (195, 60, 16), (205, 45, 17), (215, 45, 17), (165, 70, 14), (155, 65, 14),
    (185, 55, 15), (195, 50, 15), (235, 50, 19), (255, 55, 18), (265, 50, 19), (285, 35, 20), (295, 35, 21),
    (315, 30, 21), (275, 45, 21), (225, 40, 19), (245, 40, 19), (255, 35, 18), (265, 35, 18), (285, 30, 20),
    (305, 30, 20), (335, 25, 22), (215, 70, 16), (235, 65, 17), (265, 65, 17), (245, 70, 16), (225, 60, 18),
    (205, 65, 16), (215, 40, 17), (195, 45, 16), (225, 60, 16),
)  # fmt: skip
SIZE_WEIGHTS = tuple(1 / (rank + 1) ** 1.05 for rank in range(len(TYRE_SIZES)))  # demand by rank


def _rolling_mm(width: int, aspect: int, rim: int) -> float:
    return rim * 25.4 + 2 * width * aspect / 100


def _catalogue_sizes() -> tuple[tuple[int, int, int], ...]:
    """The popular sizes, then their alternatives: rim ±1", width ±20 mm, aspect ±10, within 4%."""
    sizes = list(TYRE_SIZES)
    seen = set(sizes)
    for width, aspect, rim in TYRE_SIZES:
        reference = _rolling_mm(width, aspect, rim)
        for other_rim in (rim, rim - 1, rim + 1):
            for other_width in range(width - 20, width + 21, 10):
                for other_aspect in range(aspect - 10, aspect + 11, 5):
                    size = (other_width, other_aspect, other_rim)
                    deviation = abs(_rolling_mm(*size) - reference) / reference
                    if size not in seen and 25 <= other_aspect <= 80 and deviation <= 0.04:
                        seen.add(size)
                        sizes.append(size)
    return tuple(sizes)


CATALOGUE_SIZES = _catalogue_sizes()
# Articles per size: flat next to demand (rank ** -0.3 for the popular sizes, each alternative like a
# popular size of rank 120).
BREADTH_WEIGHTS = tuple(
    [1 / (rank + 1) ** 0.3 for rank in range(len(TYRE_SIZES))]
    + [1 / 120**0.3] * (len(CATALOGUE_SIZES) - len(TYRE_SIZES))
)
# Demand per catalogue size (what suppliers stock): an alternative sells like the least popular OE size.
DEMAND_WEIGHTS = SIZE_WEIGHTS + (SIZE_WEIGHTS[-1],) * (len(CATALOGUE_SIZES) - len(TYRE_SIZES))
SEASONS = (("summer", 50), ("winter", 30), ("all_season", 20))
TYRE_BRANDS: dict[str, tuple[str, ...]] = {
    "Michelin": ("Pilot Sport 5", "Primacy 4+", "Alpin 6", "CrossClimate 2"),
    "Continental": ("PremiumContact 7", "EcoContact 6", "WinterContact TS 870", "AllSeasonContact 2"),
    "Pirelli": ("P Zero", "Cinturato P7", "Sottozero 3", "Cinturato All Season SF3"),
    "Bridgestone": ("Potenza Sport", "Turanza 6", "Blizzak LM005", "Weather Control A005"),
    "Goodyear": ("Eagle F1 Asymmetric 6", "EfficientGrip Performance 2", "UltraGrip Performance 3",
                 "Vector 4Seasons Gen-3"),
    "Hankook": ("Ventus S1 evo3", "Kinergy eco2", "Winter i*cept RS3", "Kinergy 4S2"),
    "Nokian": ("Powerproof 1", "Wetproof 1", "Snowproof 2", "Seasonproof 1"),
    "Vredestein": ("Ultrac Pro", "Ultrac", "Wintrac Pro+", "Quatrac"),
    "Falken": ("Azenis FK520", "Ziex ZE310", "Eurowinter HS02", "Euroallseason AS210"),
    "Kumho": ("Ecsta PS71", "Ecowing ES31", "WinterCraft WP52", "Solus 4S HA32"),
    "Nexen": ("N'Fera Sport", "N'blue HD Plus", "Winguard Sport 2", "N'blue 4Season 2"),
    "Toyo": ("Proxes Sport 2", "Proxes Comfort", "Observe S944", "Celsius AS2"),
    "Yokohama": ("Advan Sport V107", "BluEarth-GT AE51", "BluEarth-Winter V906", "BluEarth-4S AW21"),
    "Dunlop": ("Sport Maxx RT2", "Sport BluResponse", "Winter Sport 5", "Sport All Season"),
    "BFGoodrich": ("g-Grip", "Advantage", "g-Force Winter 2", "Advantage All-Season"),
    "Kleber": ("Dynaxer UHP", "Dynaxer HP4", "Krisalp HP3", "Quadraxer 3"),
    "Uniroyal": ("RainSport 5", "RainExpert 5", "WinterExpert", "AllSeasonExpert 2"),
    "Barum": ("Bravuris 5HM", "Brillantis 2", "Polaris 5", "Quartaris 5"),
    "Firestone": ("Roadhawk 2", "Firehawk TZ300", "Winterhawk 4", "Multiseason Gen 02"),
    "Laufenn": ("S FIT EQ+", "G FIT EQ+", "I FIT+", "G FIT 4S"),
}  # fmt: skip
PREMIUM = frozenset({"Michelin", "Continental", "Pirelli", "Bridgestone", "Goodyear"})
# Bolt pattern, centre bore, fastener and thread by make (vehicles and wheels share this table).
MAKES: dict[str, tuple[int, Decimal, Decimal, str, str, tuple[int, int]]] = {
    "Volkswagen": (5, Decimal("112.0"), Decimal("57.1"), "bolt", "M14x1.5", (35, 50)),
    "Audi": (5, Decimal("112.0"), Decimal("66.6"), "bolt", "M14x1.5", (30, 45)),
    "Skoda": (5, Decimal("112.0"), Decimal("57.1"), "bolt", "M14x1.5", (38, 50)),
    "Seat": (5, Decimal("112.0"), Decimal("57.1"), "bolt", "M14x1.5", (38, 50)),
    "BMW": (5, Decimal("112.0"), Decimal("66.6"), "bolt", "M14x1.25", (20, 40)),
    "Mercedes-Benz": (5, Decimal("112.0"), Decimal("66.6"), "bolt", "M14x1.5", (30, 50)),
    "Ford": (5, Decimal("108.0"), Decimal("63.4"), "nut", "M12x1.5", (40, 55)),
    "Volvo": (5, Decimal("108.0"), Decimal("63.4"), "bolt", "M14x1.5", (40, 55)),
    "Renault": (4, Decimal("100.0"), Decimal("60.1"), "bolt", "M12x1.5", (35, 50)),
    "Peugeot": (4, Decimal("108.0"), Decimal("65.1"), "bolt", "M12x1.25", (20, 35)),
    "Citroen": (4, Decimal("108.0"), Decimal("65.1"), "bolt", "M12x1.25", (20, 35)),
    "Opel": (5, Decimal("110.0"), Decimal("65.1"), "bolt", "M14x1.5", (35, 45)),
    "Toyota": (5, Decimal("114.3"), Decimal("60.1"), "nut", "M12x1.5", (35, 45)),
    "Hyundai": (5, Decimal("114.3"), Decimal("67.1"), "nut", "M12x1.5", (40, 50)),
    "Kia": (5, Decimal("114.3"), Decimal("67.1"), "nut", "M12x1.5", (40, 50)),
    "Tesla": (5, Decimal("114.3"), Decimal("64.1"), "nut", "M14x1.5", (35, 45)),
    "Porsche": (5, Decimal("130.0"), Decimal("71.6"), "bolt", "M14x1.5", (45, 65)),
    "Nissan": (5, Decimal("114.3"), Decimal("66.1"), "nut", "M12x1.25", (35, 45)),
    "Mazda": (5, Decimal("114.3"), Decimal("67.1"), "nut", "M12x1.5", (40, 50)),
    "Fiat": (4, Decimal("98.0"), Decimal("58.1"), "bolt", "M12x1.25", (30, 40)),
}
WHEEL_BRANDS = ("BBS", "OZ Racing", "Borbet", "Ronal", "Dezent", "Alutec", "MAK", "Rial", "AEZ", "Enkei", "Kronprinz")
AFTERMARKET_BORES = (Decimal("72.6"), Decimal("73.1"), Decimal("74.1"), Decimal("66.6"), Decimal("70.1"))
TPMS_BRANDS = (("Schrader", "EZ-sensor"), ("Huf", "IntelliSens"), ("Alligator", "sens.it"), ("VDO", "REDI-Sensor"))
ERP_COLUMNS = (
    "article_number", "article_type", "ean", "brand", "model", "description", "list_price",
    "width", "aspect", "rim_diameter", "load_index", "speed_rating", "season", "run_flat", "xl", "three_pmsf",
    "eu_fuel", "eu_wet", "eu_noise_db", "bolt_count", "pcd", "wheel_diameter", "wheel_width", "offset",
    "center_bore", "wheel_load_kg", "material", "protocol", "frequency_mhz", "compatible_makes",
)  # fmt: skip


@dataclass(frozen=True)
class Article:
    """One article of the ERP master (only the fields of its type are set)."""

    article_number: str
    article_type: str
    ean: str
    brand: str
    model: str
    list_price: Decimal
    specs: dict[str, object]
    popularity: float  # relative demand: suppliers stock popular articles more often

    @property
    def description(self) -> str:
        """How the ERP describes it."""
        s = self.specs
        if self.article_type == "tyre":
            extra = " XL" if s["xl"] else ""
            return f"{self.brand} {self.model} {s['width']}/{s['aspect']} R{s['rim_diameter']} " \
                   f"{s['load_index']}{s['speed_rating']}{extra}"  # fmt: skip
        if self.article_type == "wheel":
            return f"{self.brand} {self.model} {s['wheel_width']}x{s['wheel_diameter']} {s['bolt_count']}x" \
                   f"{s['pcd']} ET{s['offset']} CB{s['center_bore']}"  # fmt: skip
        return f"{self.brand} {self.model} TPMS {s['frequency_mhz']} MHz"

    def erp_row(self) -> list[str]:
        """The export line, in ERP_COLUMNS order."""
        values: dict[str, object] = {
            "article_number": self.article_number, "article_type": self.article_type, "ean": self.ean,
            "brand": self.brand, "model": self.model, "description": self.description,
            "list_price": f"{self.list_price:.2f}", **self.specs,
        }  # fmt: skip
        return [_cell(values.get(column)) for column in ERP_COLUMNS]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple | list):
        return "|".join(str(v) for v in value)
    return str(value)


def ean13(serial: int) -> str:
    """A valid EAN-13 (prefix 54, Belgium) for a running number."""
    body = f"54{serial:010d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def load_index(width: int, aspect: int, rim: int) -> int:
    """Approximate standard load index of a size (calibrated on 205/55R16 → 91, 175/65R14 → 82)."""
    return max(70, min(115, round(0.22 * width + 0.12 * aspect + 1.3 * rim + 18)))


def _speed(season: str, rim: int, rng: random.Random) -> str:
    if season == "winter":
        return rng.choice(("T", "H", "H", "V"))
    if season == "all_season":
        return rng.choice(("H", "V", "V"))
    if rim >= 19:
        return "Y"
    if rim >= 17:
        return rng.choice(("W", "Y", "V"))
    return rng.choice(("T", "H", "V", "V")) if rim <= 15 else rng.choice(("V", "W"))


def generate_articles(rng: random.Random, tyres: int, wheels: int, tpms: int) -> list[Article]:
    """The article master in export order: tyres, wheels, sensors; numbers and EANs unique."""
    articles: list[Article] = []
    serial = 0
    # Every popular size gets at least a few tyres per season, so every OE size a vehicle names exists.
    size_plan = [index for index in range(len(TYRE_SIZES)) for _ in range(3)]
    size_plan += rng.choices(range(len(CATALOGUE_SIZES)), weights=BREADTH_WEIGHTS, k=max(0, tyres - len(size_plan)))
    brands = sorted(TYRE_BRANDS)
    for n, size_index in enumerate(size_plan[:tyres]):
        width, aspect, rim = CATALOGUE_SIZES[size_index]
        season = SEASONS[n % 3][0] if n < 3 * len(TYRE_SIZES) else rng.choices(
            [s for s, _ in SEASONS], weights=[w for _, w in SEASONS])[0]  # fmt: skip
        brand = rng.choice(brands)
        model = TYRE_BRANDS[brand][{"summer": rng.choice((0, 1)), "winter": 2, "all_season": 3}[season]]
        xl = rng.random() < (0.45 if rim >= 18 else 0.15)
        li = load_index(width, aspect, rim) + (3 if xl else 0)
        premium = brand in PREMIUM
        price = Decimal(45 + width * 0.25 + rim * 6 + (35 if premium else 0) + rng.random() * 40)
        specs: dict[str, object] = {
            "width": width, "aspect": aspect, "rim_diameter": rim, "load_index": li,
            "speed_rating": _speed(season, rim, rng), "season": season,
            "run_flat": premium and rim >= 16 and rng.random() < 0.12, "xl": xl,
            "three_pmsf": season == "winter" or (season == "all_season" and rng.random() < 0.6),
            "eu_fuel": rng.choice("ABCCD"), "eu_wet": rng.choice("AABBC"), "eu_noise_db": rng.randint(67, 74),
        }  # fmt: skip
        serial += 1
        articles.append(Article(f"TY{serial:07d}", "tyre", ean13(serial), brand, model,
                                price.quantize(Decimal("0.01")), specs, DEMAND_WEIGHTS[size_index]))  # fmt: skip
    makes = sorted(MAKES)
    for _ in range(wheels):
        make = rng.choice(makes)
        bolts, pcd, hub_bore, _, _, (et_low, et_high) = MAKES[make]
        diameter = rng.choices((14, 15, 16, 17, 18, 19, 20, 21), weights=(3, 8, 18, 26, 22, 13, 7, 3))[0]
        hub_centric = rng.random() < 0.4
        bore = hub_bore if hub_centric else rng.choice([b for b in AFTERMARKET_BORES if b > hub_bore] or [hub_bore])
        brand = rng.choice(WHEEL_BRANDS)
        specs = {
            "bolt_count": bolts, "pcd": pcd, "wheel_diameter": diameter,
            "wheel_width": Decimal(rng.choice((5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0)) if diameter >= 16
                                   else rng.choice((5.5, 6.0, 6.5))).quantize(Decimal("0.1")),
            "offset": rng.randrange(et_low - 5, et_high + 6), "center_bore": bore,
            "wheel_load_kg": rng.choice((550, 615, 690, 750, 850, 950)),
            "material": "steel" if diameter <= 16 and rng.random() < 0.25 else "alloy",
        }  # fmt: skip
        serial += 1
        price = Decimal(60 + diameter * 9 + rng.random() * 120).quantize(Decimal("0.01"))
        model = f"{rng.choice(('Sport', 'Style', 'Classic', 'Flow', 'Racing', 'Urban'))} {rng.randint(1, 9)}"
        articles.append(Article(f"WH{serial:07d}", "wheel", ean13(serial), brand, model, price, specs, 0.3))
    for _ in range(tpms):
        brand, model = rng.choice(TPMS_BRANDS)
        serial += 1
        specs = {"protocol": "direct", "frequency_mhz": rng.choice((433, 433, 433, 315)),
                 "compatible_makes": sorted(rng.sample(makes, rng.randint(2, 6)))}  # fmt: skip
        price = Decimal(28 + rng.random() * 30).quantize(Decimal("0.01"))
        articles.append(Article(f"TP{serial:07d}", "tpms", ean13(serial), brand, model, price, specs, 0.2))
    return articles


def write_erp_export(path: Path, articles: list[Article]) -> int:
    """``;``-separated UTF-8 export with a header; returns the number of data lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\n")
        writer.writerow(ERP_COLUMNS)
        for article in articles:
            writer.writerow(article.erp_row())
    return len(articles)


def write_erp_delta(path: Path, articles: list[Article], rng: random.Random) -> dict[str, object]:
    """A delta export: ~1% price changes, a few new articles, and 5 malformed lines (listed)."""
    changed = sorted(rng.sample(range(len(articles)), max(3, len(articles) // 100)))
    new_serial = 9_000_000
    malformed: dict[str, list[int]] = {}
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\n")
        writer.writerow(ERP_COLUMNS)
        line = 1
        for index in changed:
            row = articles[index].erp_row()
            row[ERP_COLUMNS.index("list_price")] = f"{articles[index].list_price * Decimal('1.04'):.2f}"
            line += 1
            writer.writerow(row)
        for n in range(max(2, len(articles) // 1000)):
            template = articles[n]
            row = template.erp_row()
            row[0], row[2] = f"TY{new_serial + n:07d}", ean13(new_serial + n)
            line += 1
            writer.writerow(row)
        # (column, broken value); None = the EAN with a wrong check digit
        broken: dict[str, tuple[str, str | None]] = {
            "bad_ean": ("ean", None), "bad_price": ("list_price", "12,5O"), "unknown_type": ("article_type", "rim"),
            "missing_width": ("width", ""), "bad_season": ("season", "monsoon"),
        }  # fmt: skip
        for n, (kind, (column, value)) in enumerate(broken.items()):
            row = articles[n].erp_row()
            row[0], row[2] = f"TY{new_serial + 500 + n:07d}", ean13(new_serial + 500 + n)
            position = ERP_COLUMNS.index(column)
            row[position] = value if value is not None else row[2][:-1] + str((int(row[2][-1]) + 1) % 10)
            line += 1
            writer.writerow(row)
            malformed[kind] = [line]
    return {"changed": len(changed), "new": max(2, len(articles) // 1000), "malformed_lines": malformed}
