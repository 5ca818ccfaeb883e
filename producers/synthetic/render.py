"""Drawing a `CertificateSpec` as the front and back of a certificate with real TTF fonts:
several layouts per site, bilingual Chinese licences, seals and signatures."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from producers.synthetic.canvas import Canvas, cjk_font, fmt_date, font, zh_date
from producers.synthetic.national import render_national
from producers.synthetic.specs import CertificateSpec
from schemas.enums import EntityType, Site


def _entity_text(spec: CertificateSpec) -> str:
    if spec.entity_type is EntityType.SOLE_PROPRIETORSHIP:
        return "Sole Proprietorship"
    return "Private Company Limited by Shares"


def render_front(spec: CertificateSpec, width: int = 1800) -> Image.Image:
    if spec.site is Site.CHINA:
        return _render_chinese(spec, width)
    canvas = Canvas(width, (250, 246, 232) if spec.layout != 2 else (244, 248, 250))
    c, f = canvas, spec.font
    size = {0: 40, 1: 38, 2: 36}[spec.layout]
    body, label = font(c.px(size), family=f), font(c.px(size), True, family=f)
    expiry = fmt_date(spec.expiry_date, spec.layout) if spec.expiry_date else "No expiry"
    if spec.layout == 0:
        c.frame((20, 60, 120), (170, 140, 60))
        c.centred(c.px(130), spec.country_name.upper(), font(c.px(44), True, f), (20, 60, 120))
        c.centred(c.px(230), "CERTIFICATE OF REGISTRATION", font(c.px(64), True, f), (120, 20, 20))
        rows = [
            ("Company Name:", spec.company_name),
            ("Registration No.:", spec.registration_number),
            ("Registered Address:", spec.address_line1),
            ("", f"{spec.city}, {spec.state_province}"),
            ("Date of Issue:", fmt_date(spec.issue_date)),
            ("Valid Until:", expiry),
            ("Entity Type:", _entity_text(spec)),
        ]
        y, left, value_x = c.px(390), c.px(170), c.px(660)
        for text, value in rows:
            c.draw.text((left, y), text, font=label, fill=(40, 40, 40))
            c.draw.text((value_x, y), value, font=body, fill=(10, 10, 10))
            y += c.px(70)
        c.draw.text(
            (left, c.height - c.px(190)),
            f"Issued by: {spec.authority}",
            font=font(c.px(32), family=f),
            fill=(60, 60, 60),
        )
        c.seal((c.width - c.px(330), c.height - c.px(330)), c.px(120))
    elif spec.layout == 1:
        c.frame((30, 90, 60), None)
        c.centred(c.px(110), "CERTIFICATE OF INCORPORATION", font(c.px(62), True, f), (30, 90, 60))
        c.centred(c.px(200), spec.country_name, font(c.px(40), family=f), (60, 60, 60))
        c.centred(c.px(290), "This is to certify that", body, (40, 40, 40))
        c.centred(c.px(360), spec.company_name, font(c.px(54), True, f), (10, 10, 10))
        c.centred(
            c.px(450), f"is registered as a {_entity_text(spec).lower()}.", body, (40, 40, 40)
        )
        lines = [
            f"Company Number: {spec.registration_number}",
            f"Registered Office: {spec.address_line1}, {spec.city}, {spec.state_province}",
            f"Date of Incorporation: {fmt_date(spec.issue_date, 1)}",
            f"Expiry Date: {expiry}",
            f"Authority: {spec.authority}",
        ]
        y = c.px(560)
        for line in lines:
            c.draw.text((c.px(150), y), line, font=body, fill=(20, 20, 20))
            y += c.px(66)
        c.seal((c.width - c.px(260), c.height - c.px(250)), c.px(110))
    else:
        c.frame((90, 40, 110), (90, 40, 110))
        c.draw.rectangle((c.px(80), c.px(80), c.width - c.px(80), c.px(230)), fill=(90, 40, 110))
        c.centred(
            c.px(110), "BUSINESS REGISTRATION CERTIFICATE", font(c.px(56), True, f), (255, 255, 255)
        )
        c.centred(
            c.px(250),
            f"{spec.country_name} - {spec.authority}",
            font(c.px(32), family=f),
            (60, 60, 60),
        )
        rows = [
            ("Name of Entity", spec.company_name),
            ("UEN / Reg. No.", spec.registration_number),
            ("Address", spec.address_line1),
            ("City", spec.city),
            ("State / Province", spec.state_province),
            ("Date of Registration", fmt_date(spec.issue_date, 2)),
            ("Expiry Date", expiry),
            ("Entity Type", _entity_text(spec)),
        ]
        y = c.px(330)
        for text, value in rows:
            c.draw.rectangle(
                (c.px(150), y - c.px(8), c.width - c.px(150), y + c.px(56)),
                outline=(150, 150, 170),
                width=2,
            )
            c.draw.text((c.px(170), y), text, font=label, fill=(60, 30, 80))
            c.draw.text((c.px(720), y), value, font=body, fill=(10, 10, 10))
            y += c.px(66)
        c.seal((c.width - c.px(260), c.height - c.px(200)), c.px(90))
    return canvas.image


def _render_chinese(spec: CertificateSpec, width: int) -> Image.Image:
    if spec.chinese_only:
        return render_national(spec, width)
    c = Canvas(width, (252, 248, 240))
    c.frame((170, 30, 30), (200, 160, 60))
    zh = cjk_font(c.px(38))
    zh_big = cjk_font(c.px(84))
    en = font(c.px(30), family=spec.font)
    expiry_zh = (
        f"{zh_date(spec.issue_date)} 至 {zh_date(spec.expiry_date)}" if spec.expiry_date else "长期"
    )
    expiry_en = (
        f"{spec.issue_date.isoformat()} to {spec.expiry_date.isoformat()}"
        if spec.expiry_date
        else "Long-term"
    )
    kind_zh = "个体工商户" if spec.entity_type is EntityType.SOLE_PROPRIETORSHIP else "有限责任公司"
    kind_en = (
        "Individual Business"
        if spec.entity_type is EntityType.SOLE_PROPRIETORSHIP
        else "Limited Liability Company"
    )
    c.centred(c.px(110), "营业执照", zh_big, (170, 30, 30))
    c.centred(c.px(215), "BUSINESS LICENSE", font(c.px(40), True, spec.font), (170, 30, 30))
    rows = [
        ("统一社会信用代码", "Unified Social Credit Code", spec.registration_number, ""),
        ("名称", "Name", spec.name_zh, spec.company_name),
        ("类型", "Type", kind_zh, kind_en),
        (
            "住所",
            "Address",
            spec.address_zh,
            f"{spec.address_line1}, {spec.city}, {spec.state_province}",
        ),
        (
            "成立日期",
            "Date of Establishment",
            zh_date(spec.issue_date),
            spec.issue_date.isoformat(),
        ),
        ("营业期限", "Valid Until", expiry_zh, expiry_en),
    ]
    if spec.layout == 1:
        rows = [rows[1], rows[0], *rows[2:]]
    y = c.px(320)
    for label_zh, label_en, value_zh, value_en in rows:
        if spec.layout == 2:
            c.draw.text(
                (c.px(150), y),
                f"{label_zh} {label_en}:",
                font=cjk_font(c.px(30)),
                fill=(60, 30, 30),
            )
            c.draw.text((c.px(960), y), value_zh, font=zh, fill=(10, 10, 10))
        else:
            c.draw.text((c.px(150), y), label_zh, font=zh, fill=(60, 30, 30))
            c.draw.text((c.px(520), y), value_zh, font=zh, fill=(10, 10, 10))
        if value_en:
            c.draw.text(
                (c.px(520 if spec.layout != 2 else 960), y + c.px(46)),
                f"{label_en}: {value_en}" if spec.layout != 2 else value_en,
                font=en,
                fill=(40, 40, 40),
            )
        y += c.px(100)
    c.draw.text(
        (c.px(150), c.height - c.px(150)),
        f"登记机关 Registration Authority: {spec.authority}",
        font=cjk_font(c.px(28)),
        fill=(60, 60, 60),
    )
    c.seal((c.width - c.px(300), c.height - c.px(300)), c.px(120), "登记机关")
    return c.image


def render_back(spec: CertificateSpec, width: int = 1800) -> Image.Image:
    c = Canvas(width, (246, 244, 236))
    c.frame((20, 60, 120), None)
    f = spec.font
    lines = [
        ("CONDITIONS OF REGISTRATION", font(c.px(54), True, f)),
        (f"Registration No.: {spec.registration_number}", font(c.px(38), family=f)),
        (
            "1. This certificate must be displayed at the registered office.",
            font(c.px(34), family=f),
        ),
        (
            "2. Changes to the registered particulars must be filed within 14 days.",
            font(c.px(34), family=f),
        ),
        (
            "3. This certificate remains the property of the issuing authority.",
            font(c.px(34), family=f),
        ),
    ]
    y = c.px(140)
    for text, fnt in lines:
        c.draw.text((c.px(150), y), text, font=fnt, fill=(30, 30, 30))
        y += c.px(90)
    c.seal((c.px(300), c.height - c.px(280)), c.px(100))
    return c.image


def write_pair(
    spec: CertificateSpec, folder: Path, stem: str, width: int = 1800
) -> tuple[Path, Path]:
    """Render both sides as JPEG files; returns (front, back)."""
    folder.mkdir(parents=True, exist_ok=True)
    front, back = folder / f"{stem}-front.jpg", folder / f"{stem}-back.jpg"
    render_front(spec, width).save(front, quality=90)
    render_back(spec, width).save(back, quality=90)
    return front, back
