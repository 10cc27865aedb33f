"""The LEDES 1998B and 1998BI field lists, in file order (see shared/reference/domain.md §1.1-1.2)."""
from __future__ import annotations

FORMAT_1998B = "LEDES1998B[]"
FORMATS_1998BI = ("LEDES98BI V2[]", "LEDES98BI V5[]")

FIELDS_1998B: tuple[str, ...] = (
    "INVOICE_DATE",
    "INVOICE_NUMBER",
    "CLIENT_ID",
    "LAW_FIRM_MATTER_ID",
    "INVOICE_TOTAL",
    "BILLING_START_DATE",
    "BILLING_END_DATE",
    "INVOICE_DESCRIPTION",
    "LINE_ITEM_NUMBER",
    "EXP/FEE/INV_ADJ_TYPE",
    "LINE_ITEM_NUMBER_OF_UNITS",
    "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL",
    "LINE_ITEM_DATE",
    "LINE_ITEM_TASK_CODE",
    "LINE_ITEM_EXPENSE_CODE",
    "LINE_ITEM_ACTIVITY_CODE",
    "TIMEKEEPER_ID",
    "LINE_ITEM_DESCRIPTION",
    "LAW_FIRM_ID",
    "LINE_ITEM_UNIT_COST",
    "TIMEKEEPER_NAME",
    "TIMEKEEPER_CLASSIFICATION",
    "CLIENT_MATTER_ID",
)

FIELDS_1998BI: tuple[str, ...] = FIELDS_1998B + (
    "PO_NUMBER",
    "CLIENT_TAX_ID",
    "MATTER_NAME",
    "INVOICE_TAX_TOTAL",
    "INVOICE_NET_TOTAL",
    "INVOICE_CURRENCY",
    "TIMEKEEPER_LAST_NAME",
    "TIMEKEEPER_FIRST_NAME",
    "ACCOUNT_TYPE",
    "LAW_FIRM_NAME",
    "LAW_FIRM_ADDRESS_1",
    "LAW_FIRM_ADDRESS_2",
    "LAW_FIRM_CITY",
    "LAW_FIRM_STATEorREGION",
    "LAW_FIRM_POSTCODE",
    "LAW_FIRM_COUNTRY",
    "CLIENT_NAME",
    "CLIENT_ADDRESS_1",
    "CLIENT_ADDRESS_2",
    "CLIENT_CITY",
    "CLIENT_STATEorREGION",
    "CLIENT_POSTCODE",
    "CLIENT_COUNTRY",
    "LINE_ITEM_TAX_RATE",
    "LINE_ITEM_TAX_TOTAL",
    "LINE_ITEM_TAX_TYPE",
    "INVOICE_REPORTED_TAX_TOTAL",
    "INVOICE_TAX_CURRENCY",
)

assert len(FIELDS_1998B) == 24 and len(FIELDS_1998BI) == 52


def column_name(field: str) -> str:
    """The snake_case column name used for a LEDES field in DataFrames and the warehouse."""
    return field.lower().replace("exp/fee/inv_adj_type", "exp_fee_inv_adj_type")
