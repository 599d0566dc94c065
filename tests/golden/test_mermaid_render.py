"""The generated Mermaid renders with the real Mermaid (the vendored copy the UI ships)
in a real Chromium: an SVG with a node for every state, no error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from statemachine_engine.tools.diagrams import DiagramSet
from tests.golden.diagram_configs import COMPAT, GOLDEN_CONFIGS, config_id, diagrams_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

MERMAID_JS = (
    Path(__file__).resolve().parents[2] / "src/statemachine_engine/ui/static/vendor/mermaid.min.js"
)
_DECLARED_STATE = re.compile(r'^\s*state "[^"]*" as (s_\w+)$', re.MULTILINE)

RENDER = """async ([id, source]) => {
    try {
        const { svg } = await mermaid.render(id, source);
        const box = document.createElement("div");
        box.innerHTML = svg;
        document.body.appendChild(box);
        return {
            svg: svg.startsWith("<svg"),
            ids: [...box.querySelectorAll("[id]")].map((node) => node.id),
            error: box.querySelector(".error-icon, .error-text") !== null,
        };
    } catch (error) {
        return { failure: String(error) };
    }
}"""


def _open_mermaid(page: Page) -> None:
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(MERMAID_JS))
    page.evaluate("mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })")


def _render(page: Page, name: str, source: str) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(RENDER, [name, source])
    assert "failure" not in result, f"{name}: {result.get('failure')}\n{source}"
    return result


def _check_diagrams(page: Page, diagrams: DiagramSet) -> None:
    sources = {"main": diagrams.main} | {
        f"group_{index}": source for index, source in enumerate(diagrams.groups.values())
    }
    for name, source in sources.items():
        result = _render(page, f"{diagrams.stem}_{name}", source)
        assert result["svg"], f"{name}: Mermaid returned no SVG"
        assert not result["error"], f"{name}: Mermaid drew an error"
        expected = _DECLARED_STATE.findall(source)
        if name == "main":
            assert expected == [state["id"] for state in diagrams.metadata["states"]]
        for state_id in expected:
            assert any(f"state-{state_id}-" in node for node in result["ids"]), (
                f"{name}: no node for {state_id}"
            )


@pytest.mark.parametrize("path", GOLDEN_CONFIGS + COMPAT, ids=config_id)
def test_every_diagram_renders(page: Page, path: Path) -> None:
    _open_mermaid(page)
    _check_diagrams(page, diagrams_of(path))


def test_a_rendered_diagram_looks_right(page: Page, tmp_path: Path) -> None:
    """Saves screenshots (under the test's tmp dir) for a person to look at; asserts the
    drawing carries the group boxes, the timeout label and the wildcard pseudo-node."""
    _open_mermaid(page)
    for path in GOLDEN_CONFIGS:
        if path.stem in ("simple_worker", "timeout_demo", "tricky"):
            diagrams = diagrams_of(path)
            _render(page, f"shot_{path.stem}", diagrams.main)
            svg = page.locator(f"svg#shot_{path.stem}")
            svg.screenshot(path=tmp_path / f"{path.stem}.png")
            text = svg.text_content() or ""
            for label in diagrams.metadata["groups"]:
                assert label["name"] in text
            if diagrams.metadata["transitions"][-1]["kind"] == "wildcard":
                assert "any state" in text
    assert "timeout(1)" in (page.locator("svg#shot_timeout_demo").text_content() or "")
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "simple_worker.png",
        "timeout_demo.png",
        "tricky.png",
    ]


def test_a_guard_is_drawn_beside_its_event_as_written(page: Page) -> None:
    """Quotes, ``&&`` and ``<`` in a guard go through Mermaid's entities and come out as
    the config wrote them."""
    _open_mermaid(page)
    router = next(path for path in GOLDEN_CONFIGS if path.stem == "router")
    _render(page, "shot_router", diagrams_of(router).main)
    labels = page.locator("svg#shot_router .edgeLabel").all_text_contents()
    assert 'new_file [file.kind == "image"]' in labels
    assert 'new_file [file.kind == "video" && file.size < 100000000]' in labels
    assert "new_file" in labels  # the fallback, unguarded
