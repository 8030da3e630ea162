"""axe-core in the browser tests: run it on a page and report what it finds, worst first.

axe (tests/e2e/vendor/axe.min.js, see the README there) is evaluated through the DevTools protocol,
which the pages' Content-Security-Policy does not apply to, so pages are checked as they are served.
"""

from __future__ import annotations

from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).with_name("vendor").joinpath("axe.min.js")
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
IMPACTS = ("critical", "serious", "moderate", "minor")


def axe_violations(page, *, context: str | None = None) -> list[dict]:
    """axe's violations on `page` (WCAG 2.x A/AA and best practices), each with its impact and nodes."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text())
        assert page.evaluate("() => window.axe.version") == AXE_VERSION
    return page.evaluate(
        """async ([context, tags]) => {
            const results = await window.axe.run(context || document, {
                resultTypes: ["violations"],
                runOnly: { type: "tag", values: tags },
            });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
            }));
        }""",
        [context, AXE_TAGS],
    )


def by_impact(violations: list[dict]) -> dict[str, int]:
    """How many elements fail, by impact."""
    counts = dict.fromkeys(IMPACTS, 0)
    for violation in violations:
        counts[violation["impact"] or "minor"] += len(violation["nodes"])
    return counts


def describe(violations: list[dict]) -> str:
    lines = []
    for v in sorted(violations, key=lambda v: IMPACTS.index(v["impact"] or "minor")):
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"    {node['target']}: {node['summary']}".replace("\n", " | ") for node in v["nodes"][:6])
    return "\n".join(lines)


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]
