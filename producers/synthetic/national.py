"""The Chinese business licence in the national format (2019 onwards), Chinese only.

What a mainland customer actually photographs: the title 营业执照 under the red national
emblem, 副本 (the copy), the Unified Social Credit Code top left and a QR code top right, the
fields in two columns (layout 3) or in one (layout 4, the older copy) with their labels spread
by full-width spaces (名　　称), a guilloche watermark behind everything and the registration
authority's red seal stamped over the date. Fonts: Hei, Song or Kai.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from producers.synthetic.canvas import Canvas, cjk_font, font, zh_date
from producers.synthetic.specs import CertificateSpec
from schemas.enums import EntityType

Face = Callable[[int], ImageFont.FreeTypeFont | ImageFont.ImageFont]
Colour = tuple[int, ...]
RED = (178, 34, 30)
GOLD = (235, 190, 60)
INK = (25, 25, 25)
LABEL_INK = (60, 40, 30)


def render_national(spec: CertificateSpec, width: int) -> Image.Image:
    c = Canvas(width, (251, 246, 238))
    _watermark(c)
    c.frame((160, 120, 70), (160, 120, 70))
    zh = _face(c, spec)
    _emblem(c, (c.width // 2, c.px(150)), c.px(58))
    c.centred(c.px(215), "营业执照", zh(92), RED)
    c.centred(c.px(330), "（副　本）", zh(34), INK)
    sole = spec.entity_type is EntityType.SOLE_PROPRIETORSHIP
    period = (
        f"{zh_date(spec.issue_date)} 至 {zh_date(spec.expiry_date)}" if spec.expiry_date else "长期"
    )
    rows = {
        "名　　称": spec.name_zh,
        "类　　型": "个体工商户" if sole else "有限责任公司(自然人投资或控股)",
        "经 营 者" if sole else "法定代表人": spec.representative_zh,
        "组成形式" if sole else "注册资本": "个人经营" if sole else spec.capital_zh,
        "注册日期" if sole else "成立日期": zh_date(spec.issue_date),
        "营业期限": period,
        "经营场所" if sole else "住　　所": spec.address_zh,
        "经营范围": spec.scope_zh,
    }
    code_font = font(c.px(34), True)
    if spec.layout == 3:
        c.draw.text((c.px(150), c.px(200)), "统一社会信用代码", font=zh(30), fill=LABEL_INK)
        c.draw.text((c.px(150), c.px(250)), spec.registration_number, font=code_font, fill=INK)
        _qr(c, (c.width - c.px(330), c.px(150)), c.px(160), spec.registration_number)
        left = ["名　　称", "类　　型", "经 营 者" if sole else "法定代表人", "经营范围"]
        right = [k for k in rows if k not in left]
        _column(c, zh, rows, left, c.px(150), c.px(390), c.px(430), c.px(560))
        _column(c, zh, rows, right, c.px(960), c.px(1170), c.px(430), c.px(500))
    else:
        c.draw.text(
            (c.width - c.px(860), c.px(390)),
            f"统一社会信用代码  {spec.registration_number}",
            font=zh(30),
            fill=INK,
        )
        _qr(c, (c.px(150), c.px(140)), c.px(150), spec.registration_number)
        _column(c, zh, rows, list(rows), c.px(230), c.px(500), c.px(460), c.px(1100), step=c.px(64))
    _stamp(c, zh, spec)
    c.centred(
        c.height - c.px(120), "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", zh(22), INK
    )
    c.centred(c.height - c.px(88), "国家市场监督管理总局监制", zh(20), INK)
    return c.image


def _face(c: Canvas, spec: CertificateSpec) -> Face:
    return lambda size: cjk_font(c.px(size), spec.cjk_font)


def _column(
    c: Canvas,
    zh: Face,
    rows: dict[str, str],
    labels: list[str],
    label_x: int,
    value_x: int,
    top: int,
    value_width: int,
    step: int | None = None,
) -> None:
    """Label and value side by side; a long value (the business scope) wraps under itself."""
    y, step = top, step or c.px(78)
    for label in labels:
        c.draw.text((label_x, y), label, font=zh(32), fill=LABEL_INK)
        value_font = zh(32)
        line = ""
        for ch in rows[label]:
            if c.draw.textlength(line + ch, font=value_font) > value_width:
                c.draw.text((value_x, y), line, font=value_font, fill=INK)
                y, line = y + c.px(46), ""
            line += ch
        c.draw.text((value_x, y), line, font=value_font, fill=INK)
        y += step


def _watermark(c: Canvas) -> None:
    """Fine guilloche waves across the paper, as the security print of the real licence."""
    colour = (236, 222, 206)
    amplitude, period = c.px(10), c.px(90)
    for base in range(0, c.height + amplitude, max(c.px(18), 6)):
        points = [
            (x, base + amplitude * math.sin(2 * math.pi * x / period + base / 37))
            for x in range(0, c.width + 8, 8)
        ]
        c.draw.line(points, fill=colour, width=1)


def _emblem(c: Canvas, centre: tuple[int, int], radius: int) -> None:
    """The red national emblem: a red disc, a gold ring and five gold stars."""
    x, y = centre
    c.draw.ellipse(
        (x - radius, y - radius, x + radius, y + radius), fill=RED, outline=GOLD, width=4
    )
    _star(c.draw, (x, y - radius // 3), radius // 3, GOLD)
    for angle in (-60, -25, 25, 60):
        sx = x + int(radius * 0.62 * math.sin(math.radians(angle)))
        sy = y - radius // 3 + int(radius * 0.3 * (1 - math.cos(math.radians(angle))))
        _star(c.draw, (sx, sy), radius // 9, GOLD)
    c.draw.rectangle(
        (x - radius // 2, y + radius // 4, x + radius // 2, y + radius // 2), fill=GOLD
    )


def _star(draw: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int, colour: Colour) -> None:
    x, y = centre
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        angle = math.pi / 2 + i * math.pi / 5
        points.append((x + r * math.cos(angle), y - r * math.sin(angle)))
    draw.polygon(points, fill=colour)


def _qr(c: Canvas, corner: tuple[int, int], size: int, payload: str) -> None:
    """A QR-like symbol (finder squares and modules derived from the code): what the
    detector sees, not a readable code."""
    modules = 25
    cell = max(size // modules, 2)
    seed = int.from_bytes(hashlib.sha256(payload.encode()).digest()[:8], "big")
    bits = np.random.default_rng(seed).random((modules, modules)) < 0.5
    for fx, fy in ((0, 0), (modules - 7, 0), (0, modules - 7)):
        bits[fy : fy + 7, fx : fx + 7] = False
        bits[fy : fy + 7, fx] = bits[fy : fy + 7, fx + 6] = True
        bits[fy, fx : fx + 7] = bits[fy + 6, fx : fx + 7] = True
        bits[fy + 2 : fy + 5, fx + 2 : fx + 5] = True
    x0, y0 = corner
    c.draw.rectangle(
        (x0 - cell, y0 - cell, x0 + (modules + 1) * cell, y0 + (modules + 1) * cell), fill="white"
    )
    for row, col in zip(*np.nonzero(bits), strict=True):
        x, y = x0 + int(col) * cell, y0 + int(row) * cell
        c.draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=(0, 0, 0))


def _stamp(c: Canvas, zh: Face, spec: CertificateSpec) -> None:
    """登记机关 and the date, with the authority's seal stamped over them in translucent red."""
    x, y = c.width - c.px(560), c.height - c.px(290)
    c.draw.text((x, y), "登记机关", font=zh(32), fill=INK)
    c.draw.text((x, y + c.px(60)), zh_date(spec.issue_date), font=zh(30), fill=INK)
    overlay = Image.new("RGBA", c.image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    radius = c.px(115)
    cx, cy = x + c.px(150), y + c.px(40)
    seal = (*RED, 150)
    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius),
        outline=seal,
        width=max(3, radius // 14),
    )
    _star(draw, (cx, cy), radius // 4, seal)
    label = "市场监督管理局"
    label_font = zh(24)
    width = draw.textlength(label, font=label_font)
    draw.text((cx - width / 2, cy + radius // 3), label, font=label_font, fill=seal)
    composed = Image.alpha_composite(c.image.convert("RGBA"), overlay).convert("RGB")
    c.image.paste(composed)
