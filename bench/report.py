"""Print bench/results/latest.json (or the file given) as Markdown tables, for bench/README.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent / "results" / "latest.json"


def fmt(summary: dict) -> str:
    if not summary or not summary.get("count"):
        return "-"
    return f"{summary['p50']} / {summary['p99']} / {summary['max']}"


def main(path: Path) -> None:
    data = json.loads(path.read_text())
    machine = data["machine"]
    print(f"Run {data['timestamp']} on {machine['cores']} cores ({machine['cpu']}), load average before "
          f"`{machine['loadavg_before']}`, after `{machine['loadavg_after']}`; default server "
          f"**{data['default_server']}**.\n")
    print("Latency in ms, p50 / p99 / max over every receipt:\n")
    print("| server | N | commit -> receipt | whole send -> receipt | commit -> first socket | first -> last socket "
          "| send -> ack | lost | dup | connect (sockets/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, server in data["servers"].items():
        for n, row in server["latency"].items():
            print(f"| {name} | {n} | {fmt(row['commit_to_receipt_ms'])} | {fmt(row['whole_send_to_receipt_ms'])} | "
                  f"{fmt(row['commit_to_first_receipt_ms'])} | {fmt(row['first_to_last_receipt_ms'])} | "
                  f"{fmt(row['send_to_ack_ms'])} | {row['lost']} | {row['duplicated']} | "
                  f"{row['connect']['per_second']} |")
    print("\nThroughput (1,000 sockets, sender keeps "
          f"{data['setup'].get('throughput_sends_in_flight', 1)} sends in flight) and idle memory:\n")
    print("| server | deliveries/s | middle 80 % | msg/s | server CPU s | deliveries per server CPU-second "
          "| machine busy % | lost | dup | KB per idle socket (sockets) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, server in data["servers"].items():
        t = server.get("throughput", {})
        m = server.get("memory", {})
        cells = [
            t.get("deliveries_per_second"), t.get("deliveries_per_second_middle_80pct"), t.get("messages_per_second"),
            t.get("server_cpu_seconds"), t.get("deliveries_per_server_cpu_second"), t.get("machine_cpu_busy_percent"),
            t.get("lost"), t.get("duplicated"), f"{m.get('kb_per_socket', '-')} ({m.get('sockets', '-')})",
        ]
        print(f"| {name} | " + " | ".join("-" if c is None else str(c) for c in cells) + " |")
    print("\nTargets met (default server):", ", ".join(f"{k} {'yes' if v else 'NO'}"
                                                      for k, v in data["targets_met"].items()))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
