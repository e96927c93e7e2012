"""A payment gateway for tests that run workers in other processes: it keeps its ledger in a file, as
a provider keeps its own, and honours the idempotency key (a key it has paid is never paid again).

    PAYMENT_GATEWAY=tests.gateways.LedgerGateway
    GATEWAY_LEDGER=/path/ledger.jsonl   one line per call: {"key", "paid"} (paid: money moved this call)
    GATEWAY_DELAY=30                    seconds to wait after paying, before answering (a kill lands here)
"""

import fcntl
import json
import os
import time
from pathlib import Path

from orders.models import Refund
from orders.payments import GatewayResult


def ledger_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


class LedgerGateway:
    name = "ledger"

    def refund(self, refund: Refund, *, idempotency_key: str) -> GatewayResult:
        path = Path(os.environ["GATEWAY_LEDGER"])
        with path.open("a+") as ledger:
            fcntl.flock(ledger, fcntl.LOCK_EX)
            ledger.seek(0)
            paid_before = any(
                json.loads(line)["key"] == idempotency_key and json.loads(line)["paid"]
                for line in ledger
                if line.strip()
            )
            ledger.write(json.dumps({"key": idempotency_key, "paid": not paid_before}) + "\n")
            ledger.flush()
            fcntl.flock(ledger, fcntl.LOCK_UN)
        time.sleep(float(os.environ.get("GATEWAY_DELAY", "0")))
        return GatewayResult(succeeded=True, reference=f"ledger_{idempotency_key}")
