"""Sheet backends: the protocol (base), the local workbook and Google Sheets."""
