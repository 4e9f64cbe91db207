from django.urls import path

from . import views

app_name = "inspections"

urlpatterns = [
    path("", views.inspection_list, name="list"),
    path("new/", views.inspection_new, name="new"),
    path("<int:pk>/", views.inspection_detail, name="detail"),
    path("<int:pk>/plan/", views.inspection_plan, name="plan"),
    path("<int:pk>/draw/", views.draw_page, name="draw"),
    path("<int:pk>/questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("questionnaires/<int:qid>/", views.questionnaire_detail, name="questionnaire"),
    path("questionnaires/<int:qid>/fill/", views.questionnaire_fill, name="fill"),
    path("questionnaires/<int:qid>/responses.xlsx", views.responses_export, {"fmt": "xlsx"}, name="responses_xlsx"),
    path("questionnaires/<int:qid>/responses.csv", views.responses_export, {"fmt": "csv"}, name="responses_csv"),
    path("<int:pk>/fieldwork/", views.fieldwork, name="fieldwork"),
    path("<int:pk>/rates/", views.rates_page, name="rates"),
    path("<int:pk>/funnel/<str:key>.svg", views.funnel_svg, name="funnel_svg"),
    path("<int:pk>/findings/", views.findings_page, name="findings"),
    path("<int:pk>/rectifications/", views.rectification_list, name="rectifications"),
    path("rectifications/", views.my_rectifications, name="my_rectifications"),
    path("rectifications/<int:pk>/", views.rectification_detail, name="rectification_detail"),
    path("<int:pk>/report/", views.report_page, name="report"),
    path("<int:pk>/report.<str:fmt>", views.report_download, name="report_download"),
    # 一公开: published without signing in.
    path("public/draws/<int:pk>/", views.public_draw, name="public_draw"),
    path("public/draws/<int:pk>.json", views.public_draw_json, name="public_draw_json"),
    path("public/<int:pk>/rectifications/", views.public_rectifications, name="public_rectifications"),
]
