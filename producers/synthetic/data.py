"""What the certificate generator draws from: countries with their authorities and number
formats, company and street names, Chinese places and trades, fonts and layouts. Invented
names only: nothing here is a real company."""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype")
FONT_FAMILIES = {
    "sans": ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    "serif": ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    "condensed": ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
}
CJK_FONT = "wqy/wqy-microhei.ttc"
#: Hei (sans), Song/Ming and Kai faces: real licences print in Song and Kai.
CJK_FONTS = {"hei": CJK_FONT, "song": "arphic/uming.ttc", "kai": "arphic/ukai.ttc"}
LAYOUTS = 3
#: Chinese licences: 0-2 bilingual (as some exporters' translations), 3 the national format
#: of 2019 (two columns, code top left, QR code top right), 4 the older single-column copy.
CN_LAYOUTS = 5
CN_BILINGUAL_LAYOUTS = 3
CN_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")
CN_GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "涛")
CN_SCOPES = (
    "技术开发、技术咨询、技术服务；软件开发；计算机系统服务",
    "货物进出口；技术进出口；国内贸易代理；供应链管理服务",
    "普通货物仓储服务；国内货物运输代理；装卸搬运",
    "机械设备销售；电子产品销售；五金产品零售",
)
CN_CAPITALS = ("壹佰万元整", "伍佰万元整", "壹仟万元整", "贰佰万元整", "叁拾万元整")

COUNTRIES = {
    "SG": (
        "Republic of Singapore",
        "Accounting and Corporate Regulatory Authority",
        ["Central Region", "East Region"],
        ["Singapore"],
        "Pte. Ltd.",
    ),
    "GB": (
        "United Kingdom",
        "Registrar of Companies for England and Wales",
        ["England", "Wales"],
        ["London", "Manchester", "Leeds", "Bristol"],
        "Limited",
    ),
    "AU": (
        "Commonwealth of Australia",
        "Australian Securities and Investments Commission",
        ["New South Wales", "Victoria", "Queensland"],
        ["Sydney", "Melbourne", "Brisbane"],
        "Pty Ltd",
    ),
    "JP": (
        "Japan",
        "Legal Affairs Bureau",
        ["Tokyo", "Osaka"],
        ["Chiyoda", "Minato", "Kita"],
        "Corporation",
    ),
    "HK": (
        "Hong Kong",
        "Companies Registry",
        ["Hong Kong Island", "Kowloon"],
        ["Central", "Wan Chai", "Mong Kok"],
        "Company Limited",
    ),
}
CN_PLACES = [
    ("上海市", "Shanghai", "上海", "Shanghai"),
    ("北京市", "Beijing", "北京", "Beijing"),
    ("杭州市", "Hangzhou", "浙江省", "Zhejiang"),
    ("深圳市", "Shenzhen", "广东省", "Guangdong"),
    ("苏州市", "Suzhou", "江苏省", "Jiangsu"),
]
CN_WORDS = [
    ("华信", "Huaxin"),
    ("东方", "Dongfang"),
    ("长城", "Changcheng"),
    ("天元", "Tianyuan"),
    ("恒通", "Hengtong"),
    ("新海", "Xinhai"),
    ("金桥", "Jinqiao"),
    ("瑞丰", "Ruifeng"),
]
CN_ROADS = [
    ("中山路", "Zhongshan"),
    ("人民路", "Renmin"),
    ("解放路", "Jiefang"),
    ("淮海路", "Huaihai"),
]
CN_TRADES = [
    ("科技", "Technology"),
    ("贸易", "Trading"),
    ("物流", "Logistics"),
    ("信息技术", "Information Technology"),
    ("食品", "Food"),
]
NAME_A = [
    "Harbour",
    "Northwind",
    "Bluepeak",
    "Silverline",
    "Crescent",
    "Redwood",
    "Granite",
    "Lumen",
    "Orchid",
    "Summit",
    "Meridian",
    "Kestrel",
    "Beacon",
    "Willow",
    "Falcon",
    "Juniper",
    "Ironbridge",
    "Sapphire",
    "Cobalt",
    "Evergreen",
]
NAME_B = [
    "Logistics",
    "Trading",
    "Analytics",
    "Foods",
    "Robotics",
    "Textiles",
    "Consulting",
    "Software",
    "Marine",
    "Energy",
    "Ceramics",
    "Pharma",
    "Holdings",
    "Engineering",
]
STREETS = [
    "Market Street",
    "Queen Road",
    "Harbour Drive",
    "Station Avenue",
    "Mill Lane",
    "Victoria Street",
    "Park Crescent",
    "King Street",
    "Bridge Road",
]
