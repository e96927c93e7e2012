"""Bulk work on a selection of orders, as background jobs (issue 13).

- `selection`: what a person selected on the orders list — the list's filter ("all N matching") or
  explicit ids ("this page") — checked and described before a job is made.
- `forms`: the bulk action forms (change status, cancel, add a staff note).
- `runner`: the django.tasks task that carries a job out, chunk by chunk, one API call per order with
  the Idempotency-Key `bulk-<job key>-<order id>`, progress saved per chunk.
- `services`: start, cancel and resume a job; the sweep that resumes a job whose worker died.
- `tracking`: the tracking-number upload (CSV → preview → a job).
- `export`: the selection as CSV, streamed from the API's export.
"""
