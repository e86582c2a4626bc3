from django.urls import path

from django_site import views

urlpatterns = [
    path("", views.index),
    path("form", views.form),
    path("upload", views.upload),
    path("stream", views.stream),
    path("cookie", views.cookie),
]
