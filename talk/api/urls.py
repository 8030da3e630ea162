from django.urls import path

from talk.api import views

urlpatterns = [
    path("spaces/<int:space_id>/av/token/", views.TalkTokenView.as_view(), name="space-av-token"),
]
