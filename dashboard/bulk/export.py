"""The selection as CSV: the API's own export (its columns, its formula neutralising), streamed.

A filter selection is the export of that filter. Ticked rows are the export of the list's filter they
were ticked under, keeping the rows whose order id was ticked: the API's export has no id filter, and
the rows are parsed one at a time, so memory stays flat. (A ticked order that no longer matches the
filter — its status changed since — is not in the file.)
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator

from dashboard.bulk.selection import Selection, list_filter
from dashboard.client import OrdersApiClient

ORDER_ID_COLUMN = "Order ID"
FLUSH_ROWS = 500


def selection_csv_chunks(
    client: OrdersApiClient, selection: Selection, statuses: list[str], payment_statuses: list[str]
) -> Iterator[bytes]:
    """UTF-8 chunks of the CSV; the API is asked when the first chunk is taken."""
    if selection.scope == "filter":
        api_filter = selection.api_filter or {}
    else:
        _, api_filter = list_filter(selection.query, statuses=statuses, payment_statuses=payment_statuses)
    with client.orders.export(format="csv", **api_filter) as export:
        if selection.scope == "filter":
            yield from (chunk for chunk in export.chunks() if chunk)
            return
        wanted = {target["id"] for target in selection.targets or []}
        yield from _keep_rows(export.chunks(), wanted, export.charset)


def _lines(chunks: Iterable[bytes], charset: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(charset)()  # a character may be split between two chunks
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    if pending:
        yield pending


def _keep_rows(chunks: Iterable[bytes], wanted: set[str], charset: str) -> Iterator[bytes]:
    rows = csv.reader(_lines(chunks, charset))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = next(rows, None)
    if header is None:
        return
    writer.writerow(header)
    column = header.index(ORDER_ID_COLUMN) if ORDER_ID_COLUMN in header else 1
    kept = 0
    for row in rows:
        if len(row) > column and row[column] in wanted:
            writer.writerow(row)
            kept += 1
            if kept % FLUSH_ROWS == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()
