"""Screenshots of the chat page and the staff view for the README (docs/*.png), and of the first
screen after one question at a desktop size (1400×1000) and a phone size (390×844).

    rag staff add 示例员 &&  rag serve --port 7860 &   # then:
    python scripts/screenshots.py --url http://127.0.0.1:7860 --staff 示例员:PASSWORD

Needs Debian's chromium and a CJK font (fonts-noto-cjk) for readable Chinese.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def ask(pg, question: str) -> None:
    pg.fill("#question textarea", question)
    pg.click("#send")
    pg.wait_for_function("document.querySelector('#citations .cite-card') || document.querySelector('#refusal')",
                         timeout=60_000)
    pg.wait_for_timeout(800)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--staff", required=True, help="NAME:PASSWORD of a staff account, for the staff view")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        pg = b.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        pg.goto(args.url + "/")
        pg.wait_for_selector("#question textarea", timeout=60_000)
        ask(pg, "门前五包具体包括哪五项内容？")
        pg.locator("#citations summary", has_text="查看原文").first.click()
        pg.wait_for_timeout(500)
        pg.screenshot(path=str(args.out / "chat.png"), full_page=True)
        ask(pg, "济南轨道交通6号线哪年通车？")
        pg.screenshot(path=str(args.out / "refusal.png"), full_page=False)
        name, _, password = args.staff.partition(":")
        pg.get_by_role("tab", name="工作人员").click()
        pg.fill("#login-name input", name)
        pg.fill("#login-password input", password)
        pg.click("#login")
        pg.wait_for_selector("#staff-area", state="visible", timeout=30_000)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(args.out / "staff.png"), full_page=True)
        # The first screen (not the whole page) at a desktop and a phone size, English-language
        # browsers both: the page is Chinese regardless.
        for name, ctx in (("screenshot-desktop.png", {"viewport": {"width": 1400, "height": 1000}}),
                          ("screenshot-phone.png", {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                                                    "has_touch": True, "device_scale_factor": 2})):
            context = b.new_context(locale="en-US", **ctx)
            pg = context.new_page()
            pg.goto(args.url + "/")
            pg.wait_for_selector("#question textarea", timeout=60_000)
            ask(pg, "门前五包责任区里的市容整洁要达到什么要求？")
            pg.screenshot(path=str(args.out / name), full_page=False)
            context.close()
        b.close()
    for name in ("chat.png", "refusal.png", "staff.png", "screenshot-desktop.png", "screenshot-phone.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
