"""Worker classes: they differ only in how bytes move and how concurrency is had."""
