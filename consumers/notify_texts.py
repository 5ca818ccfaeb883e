"""Every sentence of the customer emails, in English and Simplified Chinese.

The templates (`templates/email.*.j2`) only arrange these; adding a language is adding a
`Texts` here. Quality reasons are explained per finding code, with how to retake the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.enums import Locale, NotificationTemplate, QualityCode, ReasonCode, Side

T = NotificationTemplate


@dataclass(frozen=True)
class Texts:
    subjects: dict[NotificationTemplate, str]
    intros: dict[NotificationTemplate, str]
    hello: str
    reference: str
    restrictions: str
    sides: dict[Side, str]
    reasons: dict[ReasonCode, str] = field(default_factory=dict)
    quality: dict[QualityCode, str] = field(default_factory=dict)


EN = Texts(
    subjects={
        T.RECEIVED: "We received your enterprise verification",
        T.RESUBMISSION_REQUIRED: "Action needed: please resubmit your documents",
        T.VERIFIED: "Your enterprise identity is verified",
        T.REJECTED: "Your enterprise verification was not approved",
        T.COMPLIANCE_PENDING: "Chinese mainland compliance review started",
        T.COMPLIANCE_APPROVED: "Chinese mainland compliance review approved",
        T.COMPLIANCE_REJECTED: "Chinese mainland compliance review not approved",
    },
    intros={
        T.RECEIVED: "We received your enterprise identity verification. A reviewer will check it, "
        "usually within 3 business days, and we will email you the result.",
        T.RESUBMISSION_REQUIRED: "We could not complete your enterprise identity verification "
        "with the documents you sent. Please fix the following and submit again:",
        T.VERIFIED: "Your organization is now verified as an enterprise. You can use "
        "organization-level features and services.",
        T.REJECTED: "Your enterprise identity verification was not approved, for these reasons:",
        T.COMPLIANCE_PENDING: "You told us you will buy resources in the Chinese mainland, so a "
        "separate compliance review has started. Its status is shown apart from your identity "
        "verification.",
        T.COMPLIANCE_APPROVED: "Your Chinese mainland compliance review is approved.",
        T.COMPLIANCE_REJECTED: "Your Chinese mainland compliance review was not approved.",
    },
    hello="Hello",
    reference="Reference",
    restrictions="As a sole proprietorship, your organization may not use:",
    sides={Side.FRONT: "front", Side.BACK: "back"},
    reasons={
        ReasonCode.NAME_MISMATCH: "The company name does not match the registration document.",
        ReasonCode.REGISTRATION_NUMBER_MISMATCH: "The registration number does not match the "
        "document.",
        ReasonCode.ADDRESS_MISMATCH: "The address does not match the registration document.",
        ReasonCode.DOCUMENT_EXPIRED: "The registration document has expired.",
        ReasonCode.COUNTRY_MISMATCH: "The document was not issued in your account's country.",
        ReasonCode.DOCUMENT_ILLEGIBLE: "The document photo is not legible.",
        ReasonCode.DOCUMENT_ALTERED: "The document appears to have been altered.",
        ReasonCode.NOT_OWN_ORGANIZATION: "The document does not belong to your organization.",
        ReasonCode.COMPLIANCE_RESTRICTED: "The compliance review found restrictions that apply "
        "to your organization.",
        ReasonCode.OTHER: "Our reviewer found another problem with the documents; please "
        "check them and submit again, or contact support.",
    },
)

ZH_CN = Texts(
    subjects={
        T.RECEIVED: "我们已收到您的企业实名认证申请",
        T.RESUBMISSION_REQUIRED: "请重新提交企业认证材料",
        T.VERIFIED: "您的企业实名认证已通过",
        T.REJECTED: "您的企业实名认证未通过",
        T.COMPLIANCE_PENDING: "中国内地合规审核已开始",
        T.COMPLIANCE_APPROVED: "中国内地合规审核已通过",
        T.COMPLIANCE_REJECTED: "中国内地合规审核未通过",
    },
    intros={
        T.RECEIVED: "我们已收到您的企业实名认证申请。审核人员通常会在 3 个工作日内完成审核，"
        "结果将通过邮件通知您。",
        T.RESUBMISSION_REQUIRED: "根据您提交的材料，我们无法完成企业实名认证。请按以下说明修正后重新提交：",
        T.VERIFIED: "您的组织已通过企业实名认证，现在可以使用组织级功能和服务。",
        T.REJECTED: "您的企业实名认证未通过，原因如下：",
        T.COMPLIANCE_PENDING: "您表示将购买中国内地资源，因此已启动单独的合规审核。"
        "其状态与企业实名认证分开显示。",
        T.COMPLIANCE_APPROVED: "您的中国内地合规审核已通过。",
        T.COMPLIANCE_REJECTED: "您的中国内地合规审核未通过。",
    },
    hello="您好",
    reference="参考编号",
    restrictions="作为个体工商户，贵组织不能使用以下服务：",
    sides={Side.FRONT: "正面", Side.BACK: "背面"},
    reasons={
        ReasonCode.NAME_MISMATCH: "公司名称与营业执照不一致。",
        ReasonCode.REGISTRATION_NUMBER_MISMATCH: "注册号（统一社会信用代码）与营业执照不一致。",
        ReasonCode.ADDRESS_MISMATCH: "地址与营业执照不一致。",
        ReasonCode.DOCUMENT_EXPIRED: "营业执照已过期。",
        ReasonCode.COUNTRY_MISMATCH: "证件并非由您账号所在国家或地区签发。",
        ReasonCode.DOCUMENT_ILLEGIBLE: "证件照片无法辨认。",
        ReasonCode.DOCUMENT_ALTERED: "证件似乎经过修改。",
        ReasonCode.NOT_OWN_ORGANIZATION: "证件不属于您的组织。",
        ReasonCode.COMPLIANCE_RESTRICTED: "合规审核发现适用于贵组织的限制。",
        ReasonCode.OTHER: "审核人员发现材料存在其他问题，请检查后重新提交，或联系客服。",
    },
    quality={
        QualityCode.MISSING_SIDE: "缺少证件的一面：请上传正面和背面两张照片。",
        QualityCode.DOCUMENT_UNREADABLE: "无法读取上传的文件，请重新上传。",
        QualityCode.HASH_MISMATCH: "文件在上传后发生了变化，请重新上传。",
        QualityCode.FILE_TOO_LARGE: "文件过大，请上传 25 MB 以内的照片。",
        QualityCode.UNSUPPORTED_FORMAT: "文件格式不受支持，请上传 JPEG、PNG 照片或登记机关签发的 PDF 文件。",
        QualityCode.CORRUPT_FILE: "文件已损坏，请重新拍摄并上传。",
        QualityCode.TOO_MANY_PIXELS: "图片尺寸过大，请上传普通手机照片。",
        QualityCode.SAME_PICTURE: "正面和背面是同一张照片，请分别拍摄两面。",
        QualityCode.DOCUMENT_NOT_FOUND: "照片中未找到证件：请将整张证件平放在深色背景上拍摄。",
        QualityCode.CROPPED: "证件边缘被裁切：请让证件四角完整出现在画面中。",
        QualityCode.DOCUMENT_TOO_SMALL: "证件在照片中太小：请靠近拍摄，让证件占满大部分画面。",
        QualityCode.LOW_RESOLUTION: "照片分辨率太低：请使用更高分辨率拍摄。",
        QualityCode.BLURRY: "照片模糊：请保持相机稳定，点击屏幕上的证件对焦后再拍摄。",
        QualityCode.TOO_DARK: "照片太暗：请在光线充足的地方拍摄。",
        QualityCode.OVEREXPOSED: "照片过曝：请避免强光直射证件。",
        QualityCode.LOW_CONTRAST: "照片对比度太低：请在均匀光线下拍摄。",
        QualityCode.GLARE: "照片有反光遮挡文字：请调整角度，避免灯光或窗户反光。",
        QualityCode.NOT_COLOUR: "请上传彩色照片，而不是黑白复印件或扫描件。",
        QualityCode.SKEWED: "证件倾斜：请正对证件拍摄。",
        QualityCode.PDF_ENCRYPTED: "PDF 文件设有密码，无法打开：请上传无密码的 PDF，或证件的照片或扫描件。",
        QualityCode.PDF_ACTIVE_CONTENT: "为保障安全，我们不打开包含脚本、附件或动作的 PDF：请上传登记机关签发的原始 PDF，或证件的照片或扫描件。",
        QualityCode.TOO_MANY_PAGES: "PDF 页数过多：请只上传证件本身（每面一页），或证件的照片。",
    },
)

TEXTS: dict[Locale, Texts] = {Locale.EN: EN, Locale.ZH_CN: ZH_CN}
