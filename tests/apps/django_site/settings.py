"""Minimal Django project served by corral in the compatibility tests."""

SECRET_KEY = "test-only-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_site.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # larger uploads go through a temporary file
