from django.urls import path

from . import views

app_name = "cockpit"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:pk>/", views.org_page, name="org"),
    path("<int:pk>/rates/", views.rates_panel, name="rates"),
    path("<int:pk>/cockpit.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<int:pk>/cockpit.pdf", views.export_pdf, name="export_pdf"),
]
