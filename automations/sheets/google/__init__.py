"""Google Sheets backend: request bodies (``requests``), failures as sentences (``errors``), the
store (``store``) and how the configuration builds it (``connect``)."""

from automations.sheets.google.connect import service_account_client, store_from_config
from automations.sheets.google.store import GoogleSheetStore, spreadsheet_key
from automations.sheets.retry import Retry

__all__ = ["GoogleSheetStore", "Retry", "service_account_client", "spreadsheet_key", "store_from_config"]
