"""The drawing surface and fonts every certificate layout uses."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from producers.synthetic.data import CJK_FONT, CJK_FONTS, FONT_DIR, FONT_FAMILIES


@lru_cache(maxsize=64)
def font(
    size: int, bold: bool = False, family: str = "sans"
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    regular, heavy = FONT_FAMILIES.get(family, FONT_FAMILIES["sans"])
    for candidate in (heavy if bold else regular, regular, FONT_FAMILIES["sans"][0]):
        if (FONT_DIR / candidate).is_file():
            return ImageFont.truetype(str(FONT_DIR / candidate), size)
    return ImageFont.load_default(size)  # Pillow's bundled FreeType font


@lru_cache(maxsize=64)
def cjk_font(size: int, face: str = "hei") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A CJK face (`CJK_FONTS`: hei, song, kai); the Hei face when that one is missing."""
    for candidate in (CJK_FONTS.get(face, CJK_FONT), CJK_FONT):
        if (FONT_DIR / candidate).is_file():
            return ImageFont.truetype(str(FONT_DIR / candidate), size)
    return font(size)


def fmt_date(day: date, style: int = 0) -> str:
    if style == 1:
        return day.isoformat()
    if style == 2:
        return f"{day:%d/%m/%Y}"
    return f"{day.day} {day:%B %Y}"


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class Canvas:
    def __init__(self, width: int, background: tuple[int, int, int]) -> None:
        self.width, self.height = width, int(width * 0.70)
        self.image = Image.new("RGB", (self.width, self.height), background)
        self.draw = ImageDraw.Draw(self.image)
        self.unit = width / 1800

    def px(self, value: float) -> int:
        return int(value * self.unit)

    def frame(self, colour: tuple[int, int, int], inner: tuple[int, int, int] | None) -> None:
        m = self.px(40)
        self.draw.rectangle(
            (m, m, self.width - m, self.height - m), outline=colour, width=max(4, self.px(14))
        )
        if inner:
            self.draw.rectangle(
                (2 * m, 2 * m, self.width - 2 * m, self.height - 2 * m),
                outline=inner,
                width=max(2, self.px(4)),
            )

    def centred(
        self,
        y: int,
        text: str,
        fnt: ImageFont.FreeTypeFont | ImageFont.ImageFont,
        colour: tuple[int, int, int],
    ) -> None:
        w = self.draw.textlength(text, font=fnt)
        self.draw.text(((self.width - w) / 2, y), text, font=fnt, fill=colour)

    def seal(self, centre: tuple[int, int], radius: int, label: str = "SEAL") -> None:
        x, y = centre
        red = (190, 30, 30)
        self.draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            outline=red,
            width=max(3, radius // 12),
        )
        inner = int(radius * 0.75)
        self.draw.ellipse(
            (x - inner, y - inner, x + inner, y + inner), outline=red, width=max(2, radius // 20)
        )
        fnt = (
            cjk_font(max(10, radius // 4))
            if not label.isascii()
            else font(max(10, radius // 4), True)
        )
        w = self.draw.textlength(label, font=fnt)
        self.draw.text((x - w / 2, y - radius // 7), label, font=fnt, fill=red)
