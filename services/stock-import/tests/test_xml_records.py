"""XML feeds to tab-separated parts: the plain-document reading gives what expat's callbacks give."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stock_import.imports import xml_records

TAGS = ["Code", "Nr", "Qty"]
TEXTS = ["TY1", "", "  12 ", "\n  4\n", "a\tb", "back\\slash", "é€", "x > y", "&amp;", "<![CDATA[7]]>", "&#13;5",
         "a\r\nb", "]]>", "\x01"]  # fmt: skip
PLAIN_TEXT = st.sampled_from(TEXTS[:8])
ANY_TEXT = st.sampled_from(TEXTS)


@st.composite
def children(draw: st.DrawFn, plain: bool) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from([*TAGS, "Other", "g:Code", "Artikel"]))
        odd = [] if plain else ["spaced-empty", "attribute", "nested"]
        kind = draw(st.sampled_from(["text", "text", "empty", *odd]))
        value = draw(PLAIN_TEXT if plain else ANY_TEXT)
        parts.append(draw(st.sampled_from(["", " ", "\n    ", "\r\n"])))
        parts.append({
            "text": f"<{name}>{value}</{name}>",
            "empty": f"<{name}/>",
            "spaced-empty": f"<{name} />",
            "attribute": f'<{name} unit="pcs">{value}</{name}>',
            "nested": f"<{name}>{value}<b>9</b>tail</{name}>",
        }[kind])  # fmt: skip
    return "".join(parts)


@st.composite
def documents(draw: st.DrawFn, plain: bool) -> bytes:
    odd = [] if plain else ["<!-- export -->", '<?xml version="1.0" encoding="ISO-8859-1"?>']
    declarations = ['<?xml version="1.0" encoding="utf-8"?>\n', "", "\ufeff", '<?xml version="1.0"?>']
    prolog = draw(st.sampled_from([*declarations, *odd]))
    root = draw(st.sampled_from(["<Lijst>", '<Lijst date="2026-12-01">'] + ([] if plain else ["<Artikel>"])))
    name = root[1:].split(">")[0].split(" ")[0]
    body = []
    for _ in range(draw(st.integers(0, 7))):
        body.append(draw(st.sampled_from(["\n  ", "", " "])))
        record = f"<Artikel>{draw(children(plain))}{draw(st.sampled_from(['', chr(10)]))}</Artikel>"
        if not plain:
            odd = [record.replace("<Artikel>", '<Artikel id="1">'), "<!-- between -->",
                   "<Kop><Artikel><Code>H</Code></Artikel></Kop>"]  # fmt: skip
            record = draw(st.sampled_from([record, record, *odd]))
        body.append(record)
    document = f"{prolog}{root}{''.join(body)}\n</{name}>\n".encode()
    if not plain and draw(st.booleans()):
        document = document[: draw(st.integers(0, len(document)))]  # broken: cut anywhere
    return document


def converted(
    tmp_path: Path, document: bytes, convert: object, block: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[int], bytes, str | None]:
    """The parts handed over, their content joined, and the error (if any)."""
    monkeypatch.setattr(xml_records, "PART_RECORDS", 2)
    monkeypatch.setattr(xml_records, "BLOCK", block)
    source = tmp_path / "feed.xml"
    source.write_bytes(document)
    scratch = tmp_path / f"{getattr(convert, '__name__', 'x')}"
    for old in tmp_path.glob(f"{scratch.name}.*"):
        old.unlink()
    handed: list[int] = []
    error = None
    try:
        convert(source, scratch, "Artikel", TAGS, handed.append)  # type: ignore[operator]
    except xml_records.BrokenXml as exc:
        error = str(exc)
    content = b"".join(xml_records.part_path(scratch, records).read_bytes() for records in handed)
    return handed, content, error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(documents(plain=True), documents(plain=False)), block=st.sampled_from([5, 64, 1 << 20]))
def test_every_document_converts_as_expat_callbacks_convert_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: bytes, block: int
) -> None:
    handed, content, error = converted(tmp_path, document, xml_records.convert, block, monkeypatch)
    expected_handed, expected_content, expected_error = converted(
        tmp_path, document, xml_records._parsed_records, block, monkeypatch
    )
    assert (content, error) == (expected_content, expected_error)
    # Parts may be cut elsewhere (a plain document's at block ends), but they hold every record, in order.
    assert handed == sorted(set(handed))
    assert handed[-1:] == expected_handed[-1:]


def test_a_plain_document_is_read_without_callbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = ('<?xml version="1.0" encoding="utf-8"?>\n<Lijst>\n'
                + "".join(f"  <Artikel><Code>TY{n}</Code><Nr> {n} </Nr><Qty/></Artikel>\n" for n in range(5))
                + "</Lijst>\n").encode()  # fmt: skip
    monkeypatch.setattr(xml_records, "_parsed_records", None)  # would fail if called
    handed, content, error = converted(tmp_path, document, xml_records.convert, 1 << 20, monkeypatch)
    assert (handed, error) == ([5], None)  # one block: one part
    assert content.decode().splitlines() == [f"TY{n}\t{n}\t" for n in range(5)]


def test_a_document_that_turns_out_not_plain_carries_on_after_the_parts_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [f"<Artikel><Code>TY{n}</Code><Qty>{n}</Qty></Artikel>" for n in range(6)]
    records[5] = '<Artikel><Code>TY5</Code><Qty unit="pcs">5</Qty></Artikel>'  # an attribute: not plain
    document = f"<Lijst>{''.join(records)}</Lijst>".encode()
    skipped: list[int] = []
    parsed = xml_records._parsed_records

    def parsed_after(*args: object, skip: int) -> int:
        skipped.append(skip)
        return parsed(*args, skip=skip)  # type: ignore[arg-type,misc]

    monkeypatch.setattr(xml_records, "_parsed_records", parsed_after)
    handed, content, error = converted(tmp_path, document, xml_records.convert, 100, monkeypatch)
    assert error is None
    assert skipped == [4]  # records 1-4 were handed over by the plain reading (blocks of 100 bytes)
    assert handed == [4, 6]  # the callbacks' part after them
    assert content.decode().splitlines() == [f"TY{n}\t\t{n}" for n in range(6)]
