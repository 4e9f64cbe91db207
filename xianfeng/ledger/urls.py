from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/statement.xlsx", views.account_statement_xlsx, name="statement_xlsx"),
]
