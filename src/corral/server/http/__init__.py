"""Sans-IO HTTP/1.1 parsing and the one request cycle shared by every worker class."""
