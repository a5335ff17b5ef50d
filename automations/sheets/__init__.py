"""Sheet backends: the protocol (base), the shared write algorithm (writer, locate), the store in
memory (memory) and the run's buffer over any store (buffered), the local workbook (workbook),
Google Sheets (google/) and the bounded retry any HTTP backend can use (retry)."""
