"""Synthetic results of the document (OCR) modes, CheckMode 1 and 4, and the sample frame: never anything
real, and PERSONAL_DATA lists what in them identifies a person so the suite's secret scan catches a leak."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from local.emulator.catalog import OCR_MODE_DEFAULT_CARD
from local.emulator.state import WebSession

# The "best frame" the emulator reports for a finished session: a few bytes with a JPEG signature.
SAMPLE_FRAME = b"\xff\xd8\xff\xe0" + bytes(range(60))


# Synthetic document data for the OCR modes: never anything real.
_FAKE_HKID = {
    "CnName": None,
    "EnName": "TEST PERSON",
    "TelexCode": None,
    "Sex": "M",
    "Birthday": "01-01-1990",
    "Permanent": "1",
    "IdNum": "Z000000(0)",
    "Symbol": "***AZ",
    "FirstIssueDate": "(01-79)",
    "CurrentIssueDate": "01-01-20",
}
_FAKE_NORMAL_HKID = {
    "ChineseName": None,
    "FullName": "TEST PERSON",
    "RegistrationNumber": "Z000000(0)",
    "Sex": "M",
    "Birthday": "01-01-1990",
    "Permanent": "1",
    "LicenseNumber": "Z000000(0)",
    "Symbol": "***AZ",
    "IssuedDate": "(01-79)",
    "CurrentIssueDate": "01-01-20",
    "HKIDVersion": "2018",
}
_FAKE_PASSPORT = {
    "LicenseNumber": "X00000000",
    "FullName": "TEST PERSON",
    "Surname": "PERSON",
    "GivenName": "TEST",
    "Birthday": "1990-01-01",
    "Sex": "M",
    "DateOfExpiration": "2035-01-01",
    "IssuingCountry": "UTO",
    "NationalityCode": "UTO",
    "PassportCodeFirst": "P<UTOPERSON<<TEST<<<<<<<<<<<<<<<<<<<<<<<<<<<",
    "PassportCodeSecond": "X000000000UTO9001011M3501012<<<<<<<<<<<<<<00",
}
# What in those answers identifies a person: the suite's scan fails a run whose output holds any of it.
PERSONAL_DATA = (
    "TEST PERSON",
    "Z000000(0)",
    "X00000000",
    "P<UTOPERSON",
    base64.b64encode(SAMPLE_FRAME).decode(),  # the face / card images
)
# CardInfo / NormalCardInfo: one member per document type (SDK models); only the one read is filled.
CARD_INFO_TYPES = (
    "HKIDCard", "MLIDCard", "PhilippinesVoteID", "IndonesiaIDCard", "PhilippinesDrivingLicense",
    "PhilippinesTinID", "PhilippinesSSSID", "PhilippinesUMID", "InternationalIDPassport", "GeneralCard",
    "IndonesiaDrivingLicense", "ThailandIDCard", "SingaporeIDCard", "MacaoIDCard", "TaiWanIDCard",
    "JapanIDCard", "BangladeshIDCard", "NigeriaIDCard", "NigeriaDrivingLicense", "PakistanIDCard",
    "PakistanDrivingLicense",
)  # fmt: skip
NORMAL_CARD_INFO_TYPES = (
    "HKIDCard", "MLIDCard", "PhilippinesVoteID", "IndonesiaIDCard", "PhilippinesDrivingLicense",
    "PhilippinesTinID", "PhilippinesSSSID", "PhilippinesUMID", "InternationalIDPassport", "GeneralCard",
    "IndonesiaDrivingLicense", "ThailandIDCard", "SingaporeIDCard", "MacaoIDCard", "MainlandIDCard",
    "JapanIDCard", "TaiWanIDCard", "HMTPermitCard",
)  # fmt: skip


def ocr_result(session: WebSession, *, passed: bool) -> dict[str, Any]:
    """One OCRResult (SDK model) for a document read in CheckMode 1 or 4: HKID card or passport."""
    card = session.id_card_type or OCR_MODE_DEFAULT_CARD
    card_info: dict[str, Any] = dict.fromkeys(CARD_INFO_TYPES)
    normal: dict[str, Any] = dict.fromkeys(NORMAL_CARD_INFO_TYPES)
    if card == "InternationalIDPassport":
        card_info[card] = dict(_FAKE_PASSPORT)
        normal[card] = dict(_FAKE_PASSPORT)
    else:  # every other document type is reported as an HKID card, the SDK's own example
        card_info["HKIDCard"] = dict(_FAKE_HKID)
        normal["HKIDCard"] = dict(_FAKE_NORMAL_HKID)
    image = base64.b64encode(SAMPLE_FRAME).decode()
    mode4 = session.check_mode == 4
    return {
        "IsPass": passed,
        "CardImageBase64": image,
        "CardInfo": None if mode4 else card_info,
        "NormalCardInfo": None if mode4 else normal,
        "RequestId": str(uuid.uuid4()),
        "CardCutImageBase64": image,
        "CardBackCutImageBase64": None,
        "WarnCardInfos": [] if passed else [-9102],
        # CheckMode 4 returns the recognised fields as the original JSON string instead.
        "OriginalCardInfo": json.dumps(normal, separators=(",", ":")) if mode4 else None,
        "HeadImageBase64": image,
        "CardBackImageBase64": None,
    }
