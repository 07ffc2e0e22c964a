"""What every page of the demo must pass in a real browser: no clipped text (canvas-drawn tables included), no
overlapping chart labels, no console error (404s included), no internal name on screen. Each check returns what it
found, so a failure names it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.conftest import OUTPUT, wait_idle

#: Internal identifiers that must never reach a person: metric, strategy and constraint keys, CLI commands.
INTERNAL_NAMES = re.compile(
    r"\b(selection_rate|base_rate|mean_score|roc_auc|pr_auc|log_loss|tpr|fpr|fnr|demographic_parity|equalized_odds|"
    r"equal_opportunity|equal_accuracy|\w+_difference|\w+_ratio)\b|python -m core|"
    r"\b\w+_\w+ \((deterministic|randomised)\)|"
    r"\bRank\s+None\b|\bNone\b(?=\s*$)", re.MULTILINE)

CLIPPED_JS = """() => {
  const found = [];
  const boxes = document.querySelectorAll(
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stMetricDelta"],' +
    '[data-baseweb="select"] div, [data-testid="stWidgetLabel"], [data-testid="stCaptionContainer"],' +
    '[data-testid="stMarkdownContainer"] p, [data-testid="stTab"], button p, [data-testid="stPageLink"] span,' +
    '[data-testid="stExpander"] summary span, [data-testid="stSidebarNav"] span');
  for (const el of boxes) {
    if (!el.offsetParent || !el.innerText || !el.innerText.trim()) continue;
    const style = getComputedStyle(el);
    const hides = style.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(style.overflowX);
    if (hides && el.scrollWidth > el.clientWidth + 1) found.push(el.innerText.trim().slice(0, 80));
  }
  return [...new Set(found)];
}"""

OVERLAP_JS = """() => {
  const found = [];
  const overlap = (a, b) => {
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w <= 0 || h <= 0) return false;
    const smaller = Math.min(a.width * a.height, b.width * b.height);
    return smaller > 0 && (w * h) / smaller > 0.25;
  };
  document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').forEach((chart, index) => {
    const title = (chart.querySelector('.gtitle') || {}).textContent || `chart ${index + 1}`;
    const groups = {
      'x ticks': '.xtick text', 'y ticks': '.ytick text', 'legend': '.legendtext',
      'point labels': '.textpoint text', 'annotations': '.annotation-text',
      'axis title and legend': '.g-xtitle text, .legendtext',
    };
    for (const [kind, selector] of Object.entries(groups)) {
      const items = [...chart.querySelectorAll(selector)]
        .filter(t => t.textContent.trim() && getComputedStyle(t).opacity !== '0')
        .map(t => ({text: t.textContent.trim(), box: t.getBoundingClientRect()}))
        .filter(t => t.box.width > 0 && t.box.height > 0);
      for (let i = 0; i < items.length; i++)
        for (let j = i + 1; j < items.length; j++)
          if (overlap(items[i].box, items[j].box))
            found.push(`${title.slice(0, 40)}: ${kind} "${items[i].text.slice(0, 30)}"` +
                       ` / "${items[j].text.slice(0, 30)}"`);
    }
    const svg = chart.querySelector('.main-svg').getBoundingClientRect();
    chart.querySelectorAll('.legendtext, .gtitle, .g-xtitle text, .g-ytitle text').forEach(t => {
      const b = t.getBoundingClientRect();
      if (b.width && (b.right > svg.right + 2 || b.left < svg.left - 2 || b.bottom > svg.bottom + 2))
        found.push(`${title.slice(0, 40)}: "${t.textContent.trim().slice(0, 40)}" runs out of the chart`);
    });
  });
  return found;
}"""

#: Canvas-drawn grids (st.dataframe) escape the DOM checks above: Glide draws their cells on a canvas and cuts text
#: at the column's edge or past the grid's right edge. Their hidden accessible table still holds every drawn cell's
#: text, and the grid component's props (read through React's fiber on its scroller) hold each column's drawn width;
#: each column's widest text is measured in the grid's font (Streamlit draws cells and headers at 14 px, 8 px of
#: padding a side) against it. A scroller wider than its box, or fewer header cells than aria-colcount, means columns
#: lie past the right edge (except in a container keyed ``scroll-…``: raw rows, meant to be scrolled sideways). HTML
#: tables (st.table) wrap, so only their running past their box is checked.
GRID_JS = """() => {
  const found = [];
  const ctx = document.createElement('canvas').getContext('2d');
  const drawnWidths = el => {
    const key = Object.keys(el).find(k => k.startsWith('__reactFiber'));
    for (let f = key && el[key], i = 0; f && i < 80; f = f.return, i++) {
      const columns = f.memoizedProps && f.memoizedProps.columns;
      if (Array.isArray(columns) && columns.length && columns[0] && 'width' in columns[0])
        return columns.map(c => c.width);
    }
    return null;
  };
  document.querySelectorAll('[data-testid="stDataFrame"]').forEach(grid => {
    const scroller = grid.querySelector('.dvn-scroller');
    const table = grid.querySelector('table[role="grid"]');
    if (!grid.offsetParent || !scroller || !table) return;
    const heads = [...table.querySelectorAll('th')];
    const name = `table (${heads.map(h => h.textContent.trim()).slice(0, 3).join(', ')}, …)`;
    const columns = +table.getAttribute('aria-colcount') || heads.length;
    const scrolls = grid.closest('[class*="st-key-scroll-"]');  // raw rows, a grid meant to be scrolled sideways
    if (!scrolls && (scroller.scrollWidth > scroller.clientWidth + 1 || heads.length < columns))
      found.push(`${name}: ${columns} columns drawn ${scroller.scrollWidth} px wide in a ` +
                 `${scroller.clientWidth} px box; the last ones lie past its right edge`);
    const editor = grid.querySelector('.stDataFrameGlideDataEditor') || grid;
    ctx.font = `14px ${getComputedStyle(editor).fontFamily}`;
    const widths = drawnWidths(scroller);
    if (!widths) { found.push(`${name}: its column widths could not be read`); return; }
    for (const head of heads) {
      const index = +head.getAttribute('aria-colindex') - 1;
      const cells = table.querySelectorAll(`td[aria-colindex="${index + 1}"]`);
      const texts = [head.textContent, ...[...cells].map(c => c.textContent)];
      const widest = texts.reduce((a, t) => ctx.measureText(t).width > ctx.measureText(a).width ? t : a, '');
      const needed = ctx.measureText(widest).width + 16;
      if (needed > widths[index] + 2)
        found.push(`${name}: column "${head.textContent.trim()}" is ${widths[index]} px, ` +
                   `"${widest.slice(0, 40)}" needs ${Math.round(needed)} px`);
    }
  });
  document.querySelectorAll('[data-testid="stTable"]').forEach(box => {
    const inner = box.querySelector('table');
    if (box.offsetParent && inner && inner.getBoundingClientRect().width > box.clientWidth + 1)
      found.push(`table (${[...inner.querySelectorAll('th')].slice(0, 3).map(h => h.innerText.trim()).join(', ')}` +
                 `, …) runs ${Math.round(inner.getBoundingClientRect().width - box.clientWidth)} px past its box`);
  });
  return found;
}"""

VISIBLE_TEXT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  const grid = [...document.querySelectorAll('table[role="grid"], [data-testid="stDataFrame"] table')]
    .map(t => t.textContent).join('\\n');
  const svg = [...main.querySelectorAll('svg text')].map(t => t.textContent).join('\\n');
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  return [main.innerText, grid, svg, sidebar ? sidebar.innerText : ''].join('\\n');
}"""


#: Streamlit's front end probes ``/<page>/_stcore/health`` and ``/<page>/_stcore/host-config`` before the app's
#: real base path whenever a page is opened by its own URL (streamlit/streamlit#7074, open upstream): the 404s are
#: how it learns that the page path is not a base path, and answering them would move its websocket there. These
#: two probes, and the browser's console line for each, are the only failures tolerated; anything else fails.
PROBE = re.compile(r"/[^/?]+/_stcore/(health|host-config)$")


class Watch:
    """Console errors, page errors and failed responses of one browser context, collected as they happen."""

    def __init__(self, context, own_host: str) -> None:
        self.problems: list[str] = []
        self.probes = 0
        self.own_host = own_host
        context.on("page", self._attach)
        for tab in context.pages:
            self._attach(tab)

    def _attach(self, tab) -> None:
        tab.on("console", self._console)
        tab.on("pageerror", lambda e: self.problems.append(f"page error: {str(e)[:200]}"))
        tab.on("response", self._response)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if "Failed to load resource" in message.text and PROBE.search(url.split("?")[0]):
            return
        self.problems.append(f"console {message.type}: {message.text[:200]} {url}")

    def _response(self, response) -> None:
        if response.status < 400 or self.own_host not in response.url:
            return
        if response.status == 404 and PROBE.search(response.url.split("?")[0]):
            self.probes += 1
            return
        self.problems.append(f"HTTP {response.status}: {response.url}")

    def take(self) -> list[str]:
        out, self.problems[:] = list(self.problems), []
        return out


#: True once every chart on the page has drawn within its box (after a load, or after the viewport narrowed).
CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(c => c.offsetParent)
  .every(c => { const svg = c.querySelector('.main-svg');
                return svg && svg.getBoundingClientRect().width <= c.getBoundingClientRect().width + 3; })"""


def settle(tab) -> None:
    """Wait until the script is idle and every chart has drawn at its width: no fixed sleep."""
    wait_idle(tab)
    tab.wait_for_function(CHARTS_DRAWN_JS, timeout=60_000)
    wait_idle(tab)


def check_page(tab, watch: Watch, name: str, width: int) -> Path:
    """Screenshot ``tab`` as test-output/e2e-<name>-<width>.png and fail on anything a stakeholder should not see."""
    settle(tab)
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"e2e-{name}-{width}.png"
    tab.screenshot(path=str(path), full_page=True)
    problems = [f"clipped text: {t}" for t in tab.evaluate(CLIPPED_JS)]
    problems += [f"overlapping labels: {t}" for t in tab.evaluate(OVERLAP_JS)]
    problems += [f"cut table: {t}" for t in tab.evaluate(GRID_JS)]
    text = tab.evaluate(VISIBLE_TEXT_JS)
    problems += [f"internal name on screen: {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 40]!r}…"
                 for m in INTERNAL_NAMES.finditer(text)]
    problems += watch.take()
    assert not problems, f"{name} at {width} px ({path}):\n" + "\n".join(problems[:20])
    return path
