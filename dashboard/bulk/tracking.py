"""The tracking-number upload: a CSV from a carrier or a warehouse → a preview per row → a bulk job.

Accepted files (issue 13): one row per order with the order (its number, e.g. ORD-000123, or its
external ID), the carrier and the tracking number; headers in common spellings (HEADERS: “Order”,
“Order Number”, “order_number”, “External ID”, “Tracking #”, “tracking_number”, “Carrier”, …) in any
order and case; `,`, `;` or tab as the delimiter (the header line decides); UTF-8 (with or without a
BOM), else Windows-1252 as spreadsheets save it.

A file that cannot be read as such (no header, a missing column, a row with more cells than the
header, an empty cell) is refused as a whole with messages naming row and column: nothing is
previewed, nothing applied. A readable file is previewed row by row — which order it matches, whether
that order may move to shipped now (its status and the API's transition table) and why not — and only
the rows that may move become the job when the admin applies it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from dashboard.api_types import StatusTable
from dashboard.client import ApiError, OrdersApiClient

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_ERRORS = 20
MAX_TEXT = 100
SHIPPED = "shipped"
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Normalised header (lower case, letters and digits only) → the column it is.
HEADERS = {
    "order": {
        "order", "ordernumber", "orderno", "ordernum", "ordernr", "orderref", "orderreference",
        "orderid", "externalid", "externalorderid", "reference",
    },
    "carrier": {"carrier", "shippingcarrier", "courier", "shipper", "carriername"},
    "tracking": {
        "tracking", "trackingnumber", "trackingno", "trackingnum", "trackingcode", "trackingid",
        "trackno", "trackingref",
    },
}  # fmt: skip
COLUMN_WORDS = {"order": "order number or external ID", "carrier": "carrier", "tracking": "tracking number"}
ORDER_NUMBER = re.compile(r"^ORD-\d{1,12}$", re.IGNORECASE)


class TrackingFileError(ValueError):
    """The file cannot be read; `errors` name row and column."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors[:MAX_ERRORS] + (
            [f"… and {len(errors) - MAX_ERRORS} more problems."] if len(errors) > MAX_ERRORS else []
        )
        super().__init__("; ".join(self.errors))


@dataclass
class Row:
    line: int  # the row's number in the file, header = 1, as a spreadsheet shows it
    reference: str
    carrier: str
    tracking: str
    order_id: str = ""
    order_number: str = ""
    status: str = ""
    allowed: bool = False
    reason: str = ""


@dataclass
class Preview:
    rows: list[Row] = field(default_factory=list)
    delimiter: str = ","

    @property
    def allowed(self) -> list[Row]:
        return [row for row in self.rows if row.allowed]

    def targets(self) -> list[dict]:
        """The job's targets: the rows that may ship, with their tracking metadata."""
        return [
            {
                "id": row.order_id,
                "number": row.order_number,
                "metadata": {"trackingNumber": row.tracking, "carrier": row.carrier},
            }
            for row in self.allowed
        ]


def _normalise(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def parse(raw: bytes) -> Preview:
    """The rows of the file, or TrackingFileError naming every problem found (row and column)."""
    if len(raw) > MAX_BYTES:
        raise TrackingFileError([f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it."])
    text = decode(raw)
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise TrackingFileError(["The file is empty: it needs a header row and one row per order."])
    delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        records = [(reader.line_num, cells) for cells in reader]
    except csv.Error as exc:
        raise TrackingFileError([f"Row {reader.line_num}: {exc}."]) from None
    records = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    header_at, header = records[0]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        for column, spellings in HEADERS.items():
            if _normalise(name) in spellings and column not in columns:
                columns[column] = index
    missing = [c for c in HEADERS if c not in columns]
    if missing:
        found = ", ".join(f"“{h.strip()}”" for h in header if h.strip()) or "nothing"
        raise TrackingFileError(
            [
                f"Row {header_at}: no {COLUMN_WORDS[c]} column (found {found}; split by "
                f"{DELIMITER_NAMES[delimiter]}). Name it for example “Order”, “Carrier” or “Tracking #”."
                for c in missing
            ]
        )
    body = records[1:]
    if not body:
        raise TrackingFileError(["The file has a header but no rows."])
    if len(body) > MAX_ROWS:
        raise TrackingFileError([f"The file has {len(body):,} rows; upload at most {MAX_ROWS:,} at a time."])
    errors: list[str] = []
    rows: list[Row] = []
    first_seen: dict[str, int] = {}
    for line, cells in body:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.append(f"Row {line}: {len(cells)} cells, but the header has {len(header)}.")
            continue
        values = {}
        for column, index in columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            name = header[index].strip()
            if not value:
                errors.append(f"Row {line}, column “{name}”: empty; give the {COLUMN_WORDS[column]}.")
            elif len(value) > MAX_TEXT:
                errors.append(f"Row {line}, column “{name}”: longer than {MAX_TEXT} characters.")
            values[column] = value
        reference = values.get("order", "")
        if reference and reference.upper() in first_seen:
            errors.append(
                f"Row {line}, column “{header[columns['order']].strip()}”: {reference} is also on row "
                f"{first_seen[reference.upper()]}; one tracking number per order."
            )
        first_seen.setdefault(reference.upper(), line)
        rows.append(
            Row(line=line, reference=reference, carrier=values["carrier"], tracking=values["tracking"])
        )
    if errors:
        raise TrackingFileError(errors)
    return Preview(rows=rows, delimiter=delimiter)


def match(preview: Preview, client: OrdersApiClient, table: StatusTable) -> Preview:
    """Find each row's order through the API and say whether it may move to shipped now."""
    for row in preview.rows:
        try:
            order = _find(client, row.reference)
        except ApiError as exc:
            if exc.status != 404:
                raise  # the API is down or refuses the key: the view's failure page
            order = None
        if order is None:
            row.reason = "No order with this number or external ID in this store."
            continue
        row.order_id, row.order_number, row.status = order.id, order.order_number, order.status
        if SHIPPED in table.transitions.get(order.status, []):
            row.allowed = True
        elif order.status == SHIPPED:
            row.reason = "Already shipped."
        elif moves := table.transitions.get(order.status, []):
            row.reason = f"It is {order.status.replace('_', ' ')}; it may move to: {', '.join(moves).replace('_', ' ')}."
        else:
            row.reason = f"It is {order.status.replace('_', ' ')}; its status can no longer change."
    return preview


def _find(client: OrdersApiClient, reference: str):
    """An order number through the list's search (exact match only), else a UUID or external ID."""
    if ORDER_NUMBER.match(reference):
        wanted = f"ORD-{int(reference[4:]):06d}"  # ORD-12 and ORD-000012 are the same order
        page = client.orders.list(search=wanted, limit=10)
        return next((o for o in page.orders if o.order_number.upper() == wanted), None)
    return client.orders.get(reference)
