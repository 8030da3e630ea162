from django.urls import path

from exports import views

urlpatterns = [
    path("manage/export/", views.company_export, name="console-export"),
    path("exports/mine/", views.my_export, name="export-mine"),
]
