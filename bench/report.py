"""Print bench/results/latest.json (or the file given) as Markdown tables, for bench/README.md; given a
bench/ab.sh directory, its old and new runs side by side."""

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
    cold_rows = [(name, server["cold_group"]) for name, server in data["servers"].items() if "cold_group" in server]
    if cold_rows:
        print("\nCold group (a new group of the 1,000 connected receivers + the sender, created through the API; "
              "its first message sent as soon as the POST returned), commit -> receipt in ms, p50 / p90 / max, "
              "and commit -> the last receiver:\n")
        print("| server | POST s | first message | first: last receiver | messages 2..10 | later: last receiver "
              "(p50 / max) | first p90 / later p90 | lost | dup |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, c in cold_rows:
            first, later = c["first"], c["later"]
            last = later["commit_to_last_receipt_ms"]
            print(f"| {name} | {c['post_seconds']} | {fmt90(first['commit_to_receipt_ms'])} | "
                  f"{first['commit_to_last_receipt_ms']} | {fmt90(later['commit_to_receipt_ms'])} | "
                  f"{last.get('p50')} / {last.get('max')} | {c.get('first_p90_over_later_p90')} | {c['lost']} | "
                  f"{c['duplicated']} |")
    storm = data.get("presence_storm")
    if storm:
        f = storm["presence_frames_per_socket"]
        print(f"\nPresence storm ({storm['users']} users over {storm['connect_spread_seconds']} s, "
              f"{storm['worker_processes']} {storm['server']} workers, nobody marked connected beforehand, "
              f"{storm['sampled_views']} sampled views):\n")
        print("| figure | value | target |")
        print("|---|---|---|")
        t = storm["targets"]
        met = storm["targets_met"]
        print(f"| hellos (failed) | {storm['hellos']} ({storm['failed']}) | all | ")
        print(f"| first connect -> last hello | {storm['first_connect_to_last_hello_s']} s | "
              f"<= {t['last_hello_seconds']} s: {yes(met['last_hello'])} |")
        print(f"| connect -> hello, p50 / p90 / max | {fmt90(storm['connect_to_hello_ms'])} ms | |")
        print(f"| convergence (last socket open -> last sampled view right) | {storm['convergence_s']} s | "
              f"<= {t['convergence_seconds']} s: {yes(met['convergence'])} |")
        print(f"| presence frames per socket, mean / max | {f['mean']} / {f['max']} | "
              f"<= {t['presence_frames_per_socket_max']}: {yes(met['presence_frames_per_socket'])} |")
        print(f"| presence KB per socket (mean) | {storm['presence_kb_per_socket_mean']} | |")
        print(f"| GET users/ (sampled), p50 / p90 / max | {fmt90(storm['fetch_seconds'])} ms | |")
        print(f"| worker CPU seconds (until converged) | {' + '.join(map(str, storm['worker_cpu_seconds']))} "
              f"over {storm['measured_seconds']} s | |")
        print(f"| machine busy | {storm['machine_cpu_busy_percent']} % | |")


def fmt90(summary: dict) -> str:
    if not summary or not summary.get("count"):
        return "-"
    return f"{summary['p50']} / {summary['p90']} / {summary['max']}"


def yes(value: bool) -> str:
    return "yes" if value else "**no**"


def ab(directory: Path) -> None:
    """The steady-state figures of a bench/ab.sh directory, old and new side by side."""
    print("| run | load at start | N=10 p50 | N=100 p50 / p99 | N=1000 p50 / p99 | N=1000 whole send p99 "
          "| deliveries/s | per server CPU-second |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sorted(directory.glob("*.json"), key=lambda p: (p.stem.split("-", 1)[1], p.stem)):
        data = json.loads(path.read_text())
        for name, server in data["servers"].items():
            lat = server["latency"]

            def c(n: str, q: str, lat: dict = lat) -> object:
                return lat.get(n, {}).get("commit_to_receipt_ms", {}).get(q, "-")

            t = server.get("throughput", {})
            whole = lat.get("1000", {}).get("whole_send_to_receipt_ms", {}).get("p99", "-")
            print(f"| {path.stem} ({name}) | {data['machine']['loadavg_before'].split()[0]} | {c('10', 'p50')} | "
                  f"{c('100', 'p50')} / {c('100', 'p99')} | {c('1000', 'p50')} / {c('1000', 'p99')} | {whole} | "
                  f"{t.get('deliveries_per_second', '-')} | {t.get('deliveries_per_server_cpu_second', '-')} |")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    ab(target) if target.is_dir() else main(target)
