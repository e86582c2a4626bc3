"""The settings as typed attributes, one per row of the settings table.

Generated from ``corral.server.config.SETTINGS`` by tools/update_settings_types.py:
do not edit by hand (a test checks that regenerating gives this file).
:class:`corral.server.config.Settings` fills the slots with validated values, so
reading a setting is a plain attribute read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SettingFields:
    """One annotated slot per setting, in the order of the table."""

    __slots__ = (
        "app_uri",
        "config",
        "bind",
        "backlog",
        "umask",
        "reuse_port",
        "workers",
        "worker_class",
        "threads",
        "worker_connections",
        "loop",
        "max_requests",
        "max_requests_jitter",
        "timeout",
        "graceful_timeout",
        "keepalive",
        "header_timeout",
        "body_timeout",
        "worker_tmp_dir",
        "preload_app",
        "chdir",
        "pythonpath",
        "user",
        "group",
        "initgroups",
        "daemon",
        "raw_env",
        "pidfile",
        "proc_name",
        "root_path",
        "body_spool_size",
        "check_config",
        "print_config",
        "reload",
        "reload_engine",
        "reload_extra_files",
        "spew",
        "sendfile",
        "enable_stdio_inheritance",
        "tmp_upload_dir",
        "paste",
        "accesslog",
        "access_log_format",
        "errorlog",
        "loglevel",
        "capture_output",
        "logger_class",
        "logconfig",
        "logconfig_dict",
        "logconfig_json",
        "syslog",
        "syslog_addr",
        "syslog_prefix",
        "syslog_facility",
        "disable_redirect_access_to_syslog",
        "statsd_host",
        "statsd_prefix",
        "dogstatsd_tags",
        "limit_request_line",
        "limit_request_fields",
        "limit_request_field_size",
        "limit_request_body",
        "header_map",
        "permit_obsolete_folding",
        "strip_header_spaces",
        "permit_unconventional_http_method",
        "permit_unconventional_http_version",
        "casefold_http_method",
        "forwarded_allow_ips",
        "secure_scheme_headers",
        "forwarder_headers",
        "proxy_protocol",
        "proxy_allow_ips",
        "certfile",
        "keyfile",
        "ca_certs",
        "cert_reqs",
        "ciphers",
        "ssl_version",
        "suppress_ragged_eofs",
        "do_handshake_on_connect",
        "static_map",
        "static_max_age",
        "compress",
        "compress_min_size",
        "metrics_bind",
        "access_log_json",
        "body_spool_limit",
        "min_data_rate",
        "min_data_rate_grace",
        "send_timeout",
        "on_starting",
        "on_reload",
        "when_ready",
        "pre_fork",
        "post_fork",
        "post_worker_init",
        "worker_int",
        "worker_abort",
        "pre_exec",
        "pre_request",
        "post_request",
        "child_exit",
        "worker_exit",
        "nworkers_changed",
        "on_exit",
        "ssl_context",
    )

    # -- Server socket
    bind: list[str]
    backlog: int
    umask: int
    reuse_port: bool

    # -- Worker processes
    workers: int
    worker_class: str
    threads: int
    worker_connections: int
    loop: str
    max_requests: int
    max_requests_jitter: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    header_timeout: float
    body_timeout: float
    worker_tmp_dir: str | None
    min_data_rate: float
    min_data_rate_grace: float
    send_timeout: float

    # -- Server mechanics
    app_uri: str | None
    config: str
    preload_app: bool
    chdir: str
    pythonpath: str | None
    user: int
    group: int
    initgroups: bool
    daemon: bool
    raw_env: list[str]
    pidfile: str | None
    proc_name: str | None
    root_path: str
    body_spool_size: int
    check_config: bool
    print_config: bool
    reload: bool
    reload_engine: str
    reload_extra_files: list[str]
    spew: bool
    sendfile: bool | None
    enable_stdio_inheritance: bool
    tmp_upload_dir: str | None
    paste: str | None
    static_map: list[str]
    static_max_age: int
    compress: bool
    compress_min_size: int

    # -- Logging
    accesslog: str | None
    access_log_format: str
    errorlog: str
    loglevel: str
    capture_output: bool
    logger_class: str
    logconfig: str | None
    logconfig_dict: dict[str, Any]
    logconfig_json: str | None
    syslog: bool
    syslog_addr: str
    syslog_prefix: str | None
    syslog_facility: str
    disable_redirect_access_to_syslog: bool
    statsd_host: str | None
    statsd_prefix: str
    dogstatsd_tags: str
    metrics_bind: str | None
    access_log_json: bool

    # -- Request limits
    limit_request_line: int
    limit_request_fields: int
    limit_request_field_size: int
    limit_request_body: int
    header_map: str
    permit_obsolete_folding: bool
    strip_header_spaces: bool
    permit_unconventional_http_method: bool
    permit_unconventional_http_version: bool
    casefold_http_method: bool
    body_spool_limit: int

    # -- Proxies
    forwarded_allow_ips: list[str]
    secure_scheme_headers: dict[str, str]
    forwarder_headers: list[str]
    proxy_protocol: bool
    proxy_allow_ips: list[str]

    # -- TLS
    certfile: str | None
    keyfile: str | None
    ca_certs: str | None
    cert_reqs: int
    ciphers: str | None
    ssl_version: str
    suppress_ragged_eofs: bool
    do_handshake_on_connect: bool

    # -- Server hooks
    on_starting: Callable[[Any], None]
    on_reload: Callable[[Any], None]
    when_ready: Callable[[Any], None]
    pre_fork: Callable[[Any, Any], None]
    post_fork: Callable[[Any, Any], None]
    post_worker_init: Callable[[Any], None]
    worker_int: Callable[[Any], None]
    worker_abort: Callable[[Any], None]
    pre_exec: Callable[[Any], None]
    pre_request: Callable[[Any, Any], None]
    post_request: Callable[[Any, Any, Any, Any], None]
    child_exit: Callable[[Any, Any], None]
    worker_exit: Callable[[Any, Any], None]
    nworkers_changed: Callable[[Any, int, int | None], None]
    on_exit: Callable[[Any], None]
    ssl_context: Callable[[Any, Callable[[], Any]], Any]
