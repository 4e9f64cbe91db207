from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "xianfeng.orgs"
    label = "orgs"
    verbose_name = "组织与人员"
    url_prefix = "orgs/"  # xianfeng/urls.py mounts this app's urls.py here
