"""Delivery benchmark: a burst of notifications through the fan-out and the dispatcher (not a
test; prints figures).

    .venv/bin/python -m bench.deliveries [--notifications N] [--dispatchers D]

N notifications (default 1,000) are queued at once in the outbox, each to the administrators
(two accounts, each with the inbox and a WeCom robot of their own, served by a local HTTP
receiver that answers as WeCom does): 2N inbox messages and 2N robot deliveries. D
dispatchers (default 2, as two workers) fan out and deliver until every delivery is sent.
Printed: the time to drain, deliveries per second, and the lag from a notification's queueing
to each delivery's send (p50 / p99 / max), per channel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import sqlalchemy as sa

from activities.channels import configured_channels
from activities.database import create_app_engine
from activities.deliveries import DeliveryDispatcher, FanOut
from activities.deliveries.operations import set_account_contacts
from activities.logging import configure_logging
from activities.notifications import NotificationActivities
from activities.settings import Settings
from bench.common import APP_ROLE, bench_database, report
from workflows.contracts import EnqueueNotificationsInput, NotificationToQueue


class _Robot(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


async def _run(url: str, notifications: int, dispatchers: int) -> None:
    engine = create_app_engine(url, APP_ROLE, pool_size=4 * dispatchers + 2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    robot = f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=bench"
    with engine.begin() as conn:
        for login in ("ops-1", "ops-2"):
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (login, display_name, role, password_hash)"
                    " VALUES (:l, :l, 'admin', '$argon2id$bench')"
                ),
                {"l": login},
            )
    for login in ("ops-1", "ops-2"):
        set_account_contacts(engine, login, chat_kind="wecom", chat_url=robot)
    NotificationActivities(engine).enqueue_notifications(
        EnqueueNotificationsInput(
            "calendar",
            "bench",
            [
                NotificationToQueue(
                    f"bench:{uuid.uuid4().hex}:admin",
                    "admin",
                    "administrators",
                    f"bench_notice:{n}",
                    "BenchNotice",
                )
                for n in range(notifications)
            ],
        )
    )
    settings = Settings(database_url="postgresql://unused/")
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as client:
        channels = configured_channels(settings, client)
        workers = [
            DeliveryDispatcher(engine, channels, FanOut(engine, channels=channels.channels))
            for _ in range(dispatchers)
        ]

        async def drain(worker: DeliveryDispatcher) -> None:
            while (await worker.dispatch_once()).busy:
                pass

        while True:
            await asyncio.gather(*(drain(w) for w in workers))
            with engine.connect() as conn:
                pending = conn.execute(
                    sa.text("SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'")
                ).scalar_one()
                unfanned = conn.execute(
                    sa.text("SELECT count(*) FROM notification_outbox WHERE fanned_out_at IS NULL")
                ).scalar_one()
            if not pending and not unfanned:
                break
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT d.channel, count(*),"
                " percentile_cont(0.5) WITHIN GROUP (ORDER BY"
                "   EXTRACT(EPOCH FROM d.sent_at - o.created_at)),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY"
                "   EXTRACT(EPOCH FROM d.sent_at - o.created_at)),"
                " max(EXTRACT(EPOCH FROM d.sent_at - o.created_at))"
                " FROM notification_deliveries d JOIN notification_outbox o ON o.id = d.outbox_id"
                " GROUP BY d.channel ORDER BY d.channel"
            )
        ).all()
        twice = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT step_key, recipient, channel"
                " FROM notification_deliveries GROUP BY 1, 2, 3 HAVING count(*) > 1) x"
            )
        ).scalar_one()
    total = sum(r[1] for r in rows)
    report(f"{notifications} notifications, {dispatchers} dispatchers: drained in", elapsed, "s")
    report("deliveries per second (inbox + robot)", total / elapsed, "/s")
    for channel, count, p50, p99, worst in rows:
        report(f"{channel}: deliveries", count, "")
        report(f"{channel}: lag p50", float(p50), "s")
        report(f"{channel}: lag p99", float(p99), "s")
        report(f"{channel}: lag max", float(worst), "s")
    report("deliveries repeated (must be 0)", twice, "")
    server.shutdown()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--dispatchers", type=int, default=2)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with bench_database() as url:
        asyncio.run(_run(url, args.notifications, args.dispatchers))


if __name__ == "__main__":
    main()
