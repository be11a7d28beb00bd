"""Reading and writing the rows of catalogue files: CSV (a header line, then one row per
line) and JSON Lines (one object per line), each row with the line it starts on.

Every value is read as text (JSON numbers and booleans are turned into their text), so one
set of column rules checks both formats; a missing column and an empty cell are told apart
(``None`` is an empty cell or a JSON null; a column left out is not in the row at all).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import FileRejected, InvalidInput
from domain.errors import RowProblem as Problem

MAX_ROWS = 10_000  # per file: the import is one transaction


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str | None]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError("a value is text, a number, true/false or null")


def read_rows(text: str, fmt: Format, *, columns: Sequence[str]) -> list[Row]:
    """The rows of a file, or FileRejected naming each line that cannot be read (a column
    not in ``columns``, a malformed JSON line, more than MAX_ROWS rows)."""
    problems: list[Problem] = []
    rows: list[Row] = []
    known = set(columns)

    def problem(line: int, message: str) -> None:
        problems.append(Problem(line, None, InvalidInput(message)))

    if fmt is Format.CSV:
        reader = csv.reader(io.StringIO(text))
        header: list[str] | None = None
        last_line = 0
        try:
            for record in reader:
                start, last_line = last_line + 1, reader.line_num
                if header is None:
                    header = [name.strip() for name in record]
                    unknown = [name for name in header if name not in known]
                    if unknown:
                        problem(start, f"unknown columns {unknown}; the columns are "
                                       f"{', '.join(columns)}")
                    if len(set(header)) != len(header):
                        problem(start, "a column is named twice")
                    continue
                if not any(cell.strip() for cell in record):
                    continue  # a blank line
                if len(record) != len(header):
                    problem(start, f"{len(record)} cells, the header has {len(header)}")
                    continue
                rows.append(Row(start, {name: (cell.strip() or None)
                                        for name, cell in zip(header, record, strict=True)}))
        except csv.Error as error:
            problem(last_line + 1, f"not CSV: {error}")
        if header is None:
            problem(1, "the file is empty")
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("each line is one JSON object")
                values = {str(k): _text(v) for k, v in data.items()}
            except ValueError as error:
                problem(number, f"not JSON: {error}")
                continue
            unknown = sorted(set(values) - known)
            if unknown:
                problem(number, f"unknown fields {unknown}; the fields are {', '.join(columns)}")
                continue
            rows.append(Row(number, {k: (v.strip() or None) if v is not None else None
                                     for k, v in values.items()}))
    if len(rows) > MAX_ROWS:
        problem(rows[MAX_ROWS].line, f"at most {MAX_ROWS:,} rows per file")
    if problems:
        raise FileRejected(problems)
    return rows


def write_rows(rows: Iterable[Mapping[str, Any]], fmt: Format, *,
               columns: Sequence[str]) -> Iterator[str]:
    """The file, a line at a time: what ``read_rows`` reads back as the same rows."""
    if fmt is Format.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")

        def line(values: Sequence[Any]) -> str:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(["" if v is None else v for v in values])
            return buffer.getvalue()

        yield line(columns)
        for row in rows:
            yield line([row.get(c) for c in columns])
    else:
        for row in rows:
            yield json.dumps({c: row.get(c) for c in columns}, separators=(",", ":"),
                             ensure_ascii=False) + "\n"
